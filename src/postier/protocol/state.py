"""The server's states and its transition table. Everything that moves the state lives here.

    CONNECTED --HELO/EHLO--> READY --MAIL--> MAIL --RCPT--> RCPT --DATA--> DATA
        ^                      ^                             |RCPT          | end of data
        |                      |                             v              v
        |                      +------- message answered -- DELIVERING <----+
        |                      |                             ^ BDAT LAST
        |                      |        RCPT/CHUNKING --BDAT--> BDAT --chunk read--> CHUNKING
        +--(TLS handshake)-- TLS_PENDING <--STARTTLS-- READY
                               READY --AUTH--> AUTH --credentials--> AUTH_CHECKING
                                 ^                 (334 challenges)     | verdict
                                 +--------------------------------------+
    any command state --QUIT--> CLOSED;  HELO/EHLO/RSET reset the transaction.

A command is carried out only when `TRANSITIONS` has its `(state, command)` key; any
other pair is out of sequence and gets the 503 that `refusal()` picks.
"""

from __future__ import annotations

from enum import Enum, auto

from postier.protocol import catalogue
from postier.protocol.commands import (
    Auth,
    Bdat,
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
from postier.protocol.reply import Reply


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
    BDAT = auto()
    """Reading the octets of one BDAT chunk (RFC 3030)."""
    CHUNKING = auto()
    """Between BDAT chunks of one message: more BDAT, or the commands that end it."""
    DELIVERING = auto()
    """End of data received; waiting for the session to store the message."""
    TLS_PENDING = auto()
    """220 sent to STARTTLS; waiting for the handshake."""
    AUTH = auto()
    """334 sent: the next line is a SASL response, not a command (RFC 4954 §4)."""
    AUTH_CHECKING = auto()
    """Credentials received; waiting for the session's verdict on them."""
    CLOSED = auto()


COMMAND_STATES = (State.CONNECTED, State.READY, State.MAIL, State.RCPT, State.CHUNKING)


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
    table[(State.READY, Auth)] = State.AUTH
    table[(State.RCPT, Bdat)] = State.BDAT
    table[(State.CHUNKING, Bdat)] = State.BDAT
    return table


TRANSITIONS = _transitions()

# Steps that are not commands: the end of the data, the session's answer, the handshake.
AFTER_DATA = State.DELIVERING
AFTER_ANSWER = State.READY
AFTER_REFUSED_DATA = State.READY
AFTER_TLS = State.CONNECTED
AFTER_CHUNK = State.CHUNKING
AFTER_LAST_CHUNK = State.DELIVERING
AFTER_REFUSED_CHUNK = State.READY
"""A chunk over the size limit ends the transaction, as a refused DATA does."""
AFTER_CREDENTIALS = State.AUTH_CHECKING
AFTER_AUTH = State.READY
"""After the verdict, a cancellation or a malformed response alike."""


def refusal(state: State, command: Command) -> Reply:
    """The 503 for a command that is out of sequence in `state` (RFC 5321 §4.1.4)."""
    if state is State.CONNECTED:
        return catalogue.need_helo()
    if isinstance(command, Mail):
        return catalogue.nested_mail()
    if state is State.CHUNKING and isinstance(command, Rcpt | Data):
        return catalogue.chunking_in_progress()
    if isinstance(command, Rcpt):
        return catalogue.need_mail()
    if isinstance(command, Data | Bdat):
        return catalogue.need_rcpt() if state is State.MAIL else catalogue.need_mail()
    if isinstance(command, StartTls | Auth):
        return catalogue.transaction_in_progress()
    return catalogue.command_unrecognized()
