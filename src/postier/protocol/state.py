"""The server's states and its transition table. Everything that moves the state lives here.

    CONNECTED --HELO/EHLO--> READY --MAIL--> MAIL --RCPT--> RCPT --DATA--> DATA
        ^                      ^                             |RCPT          | end of data
        |                      |                             v              v
        |                      +------- message answered -- DELIVERING <----+
        +--(TLS handshake)-- TLS_PENDING <--STARTTLS-- READY
    any command state --QUIT--> CLOSED;  HELO/EHLO/RSET reset the transaction.

A command is carried out only when `TRANSITIONS` has its `(state, command)` key; any
other pair is out of sequence and gets the 503 that `refusal()` picks.
"""

from __future__ import annotations

from enum import Enum, auto

from postier.protocol import catalogue
from postier.protocol.commands import (
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from postier.protocol.replies import Reply


class State(Enum):
    CONNECTED = auto()
    """Greeted by us; the client has not said EHLO/HELO yet."""
    READY = auto()
    """No transaction in progress."""
    MAIL = auto()
    """MAIL accepted, no recipient yet."""
    RCPT = auto()
    """At least one recipient accepted."""
    DATA = auto()
    """Receiving message data."""
    DELIVERING = auto()
    """End of data received; waiting for the session to store the message."""
    TLS_PENDING = auto()
    """220 sent to STARTTLS; waiting for the handshake."""
    CLOSED = auto()


COMMAND_STATES = (State.CONNECTED, State.READY, State.MAIL, State.RCPT)


def _transitions() -> dict[tuple[State, type[Command]], State]:
    table: dict[tuple[State, type[Command]], State] = {}
    for state in COMMAND_STATES:
        table[(state, Helo)] = State.READY
        table[(state, Ehlo)] = State.READY
        # RFC 5321 §4.1.1.5: RSET clears the transaction; it does not undo the greeting.
        table[(state, Rset)] = State.CONNECTED if state is State.CONNECTED else State.READY
        for stay in (Noop, Vrfy, Help):
            table[(state, stay)] = state
        table[(state, Quit)] = State.CLOSED
    table[(State.READY, Mail)] = State.MAIL
    table[(State.MAIL, Rcpt)] = State.RCPT
    table[(State.RCPT, Rcpt)] = State.RCPT
    table[(State.RCPT, Data)] = State.DATA
    table[(State.READY, StartTls)] = State.TLS_PENDING
    return table


TRANSITIONS = _transitions()

# Steps that are not commands: the end of the data, the session's answer, the handshake.
AFTER_DATA = State.DELIVERING
AFTER_ANSWER = State.READY
AFTER_REFUSED_DATA = State.READY
AFTER_TLS = State.CONNECTED


def refusal(state: State, command: Command) -> Reply:
    """The 503 for a command that is out of sequence in `state` (RFC 5321 §4.1.4)."""
    if state is State.CONNECTED:
        return catalogue.need_helo()
    if isinstance(command, Mail):
        return catalogue.nested_mail()
    if isinstance(command, Rcpt):
        return catalogue.need_mail()
    if isinstance(command, Data):
        return catalogue.need_rcpt() if state is State.MAIL else catalogue.need_mail()
    if isinstance(command, StartTls):
        return catalogue.transaction_in_progress()
    return catalogue.command_unrecognized()
