"""The server's states and its transition table. Everything that moves the state lives here.

    CONNECTED --HELO/EHLO--> READY --MAIL--> MAIL --RCPT--> RCPT --DATA--> DATA
        ^                    ^ ^ ^                           | RCPT          | end of data
        |                    | | |                           | BDAT          v
        |                    | | +---- message answered ---- | -------- DELIVERING
        |                    | |                             v               ^ last chunk
        |                    | +------ message refused ----- BDAT -----------+
        |                    |         (or from DATA)        | ^ BDAT
        |                    |                   chunk read  v |
        |                    |                             CHUNKING
        +--TLS started-- TLS_PENDING <--STARTTLS-- READY
                             READY --AUTH--> AUTH --credentials--> AUTH_CHECKING
                               ^               | exchange failed      | verdict
                               +---------------+----------------------+

    When the session decides about senders or recipients (a policy, chaos), MAIL
    and RCPT wait for its word instead of moving at once:

        READY --sender offered--> SENDER_CHECKING --sender accepted--> MAIL
          ^                              | sender refused
          +------------------------------+
        MAIL/RCPT --recipient offered--> RECIPIENT_CHECKING --recipient accepted--> RCPT
            ^                                    | recipient refused (BACK)
            +------------------------------------+

    In every command state NOOP/VRFY/HELP stay, RSET goes to READY (to CONNECTED
    before HELO/EHLO) and QUIT to CLOSED; a BDAT refused still has its octets read
    in BDAT, then (chunk refused) goes back where it was. Every state but those that
    wait for the session's answer (DELIVERING, AUTH_CHECKING, SENDER_CHECKING,
    RECIPIENT_CHECKING) may close (timeout, shutdown, too many errors).

The moves, one a line, as the test reads them against `MOVES` (`*` is every command
state; a `*` target stays put; BACK is the state a refused BDAT left, where its
octets return once read and thrown away, or the one a refused recipient left):

    * --HELO/EHLO--> READY
    * --NOOP/VRFY/HELP--> *
    * --QUIT--> CLOSED
    CONNECTED --RSET--> CONNECTED
    READY/MAIL/RCPT/CHUNKING --RSET--> READY
    READY --MAIL--> MAIL
    MAIL/RCPT --RCPT--> RCPT
    RCPT --DATA--> DATA
    DATA --end of data--> DELIVERING
    DATA/BDAT --message refused--> READY
    DELIVERING --message answered--> READY
    READY --STARTTLS--> TLS_PENDING
    TLS_PENDING --TLS started--> CONNECTED
    RCPT/CHUNKING --BDAT--> BDAT
    * --BDAT refused--> BDAT
    BDAT --chunk read--> CHUNKING
    BDAT --last chunk--> DELIVERING
    BDAT --chunk refused--> BACK
    READY --AUTH--> AUTH
    AUTH --credentials--> AUTH_CHECKING
    AUTH --exchange failed--> READY
    AUTH_CHECKING --verdict--> READY
    READY --sender offered--> SENDER_CHECKING
    SENDER_CHECKING --sender accepted--> MAIL
    SENDER_CHECKING --sender refused--> READY
    MAIL/RCPT --recipient offered--> RECIPIENT_CHECKING
    RECIPIENT_CHECKING --recipient accepted--> RCPT
    RECIPIENT_CHECKING --recipient refused--> BACK
    */DATA/BDAT/AUTH/TLS_PENDING --close--> CLOSED

A command is carried out only when `TRANSITIONS` has its `(state, command)` key; any
other pair is out of sequence and gets the 503 that `out_of_sequence()` picks. Every
other move is a `Trigger`, and `next_state()` refuses one that `MOVES` lacks as our
own misuse (`LocalProtocolError`). A message being stored, credentials, a sender or
a recipient being checked are never closed on: their answer comes first.

MAIL and RCPT move by their command when the core decides alone (it accepts what
passes its own checks: the usual case, with no policy, and the cheapest); when the
session decides they move by `sender offered` / `recipient offered` instead, and the
session's verdict moves on.
"""

from __future__ import annotations

from enum import Enum, auto

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.commands import (
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
from postier.protocol.smtp.errors import LocalProtocolError
from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.waits import Pause
from postier.protocol.table_key import TableKey


class State(TableKey):
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
    SENDER_CHECKING = auto()
    """MAIL passed the core's checks; waiting for the session's verdict on the sender."""
    RECIPIENT_CHECKING = auto()
    """RCPT passed the core's checks; waiting for the session's verdict on the recipient."""
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

PAUSES = {
    State.DELIVERING: Pause.MESSAGE,
    State.TLS_PENDING: Pause.TLS,
    State.AUTH_CHECKING: Pause.CREDENTIALS,
    State.SENDER_CHECKING: Pause.SENDER,
    State.RECIPIENT_CHECKING: Pause.RECIPIENT,
}
"""The states in which the session, not the client, has the next move."""
AWAITING_ANSWER = frozenset(
    {State.DELIVERING, State.AUTH_CHECKING, State.SENDER_CHECKING, State.RECIPIENT_CHECKING}
)
"""The client waits for the session's answer (a message stored, credentials, a sender
or a recipient checked): nothing closes the connection before it comes, neither a
timeout nor a shutdown."""
RECEIVING_STATES = frozenset({State.DATA, State.BDAT, State.CHUNKING})
"""A message is being received: a shutdown lets it finish, unless forced."""
TRANSACTION_STATES = frozenset(
    {
        State.SENDER_CHECKING,
        State.MAIL,
        State.RECIPIENT_CHECKING,
        State.RCPT,
        *RECEIVING_STATES,
        State.DELIVERING,
    }
)


class Trigger(TableKey):
    """A move that is not a command: something read, or the session's answer."""

    END_OF_DATA = "end of data"
    MESSAGE_REFUSED = "message refused"
    """Over a limit at its end (DATA) or past it (BDAT): the transaction is over."""
    MESSAGE_ANSWERED = "message answered"
    TLS_STARTED = "TLS started"
    BDAT_REFUSED = "BDAT refused"
    """Its octets are still read, and thrown away, before the refusal is sent."""
    CHUNK_READ = "chunk read"
    LAST_CHUNK = "last chunk"
    CHUNK_REFUSED = "chunk refused"
    """The octets of a refused BDAT are read: back to where it was refused."""
    CREDENTIALS = "credentials"
    EXCHANGE_FAILED = "exchange failed"
    """The SASL exchange ended without credentials: malformed, cancelled, too long."""
    VERDICT = "verdict"
    SENDER_OFFERED = "sender offered"
    """MAIL passed the core's checks and the session decides (`SenderOffered`)."""
    SENDER_ACCEPTED = "sender accepted"
    SENDER_REFUSED = "sender refused"
    RECIPIENT_OFFERED = "recipient offered"
    """RCPT passed the core's checks and the session decides (`RecipientOffered`)."""
    RECIPIENT_ACCEPTED = "recipient accepted"
    RECIPIENT_REFUSED = "recipient refused"
    """Back to where the RCPT came: MAIL (no recipient yet) or RCPT."""
    CLOSE = "close"


class _Back(Enum):
    BACK = "back"


BACK = _Back.BACK
"""The target of a refused chunk (the state its BDAT was refused in) and of a refused
recipient (the state its RCPT came in)."""

Move = type[Command] | Trigger
Target = State | _Back


def _steps() -> dict[tuple[State, Trigger], Target]:
    table: dict[tuple[State, Trigger], Target] = {
        (State.DATA, Trigger.END_OF_DATA): State.DELIVERING,
        (State.DATA, Trigger.MESSAGE_REFUSED): State.READY,
        (State.BDAT, Trigger.MESSAGE_REFUSED): State.READY,
        (State.DELIVERING, Trigger.MESSAGE_ANSWERED): State.READY,
        (State.TLS_PENDING, Trigger.TLS_STARTED): State.CONNECTED,
        (State.BDAT, Trigger.CHUNK_READ): State.CHUNKING,
        (State.BDAT, Trigger.LAST_CHUNK): State.DELIVERING,
        (State.BDAT, Trigger.CHUNK_REFUSED): BACK,
        (State.AUTH, Trigger.CREDENTIALS): State.AUTH_CHECKING,
        (State.AUTH, Trigger.EXCHANGE_FAILED): State.READY,
        (State.AUTH_CHECKING, Trigger.VERDICT): State.READY,
        (State.READY, Trigger.SENDER_OFFERED): State.SENDER_CHECKING,
        (State.SENDER_CHECKING, Trigger.SENDER_ACCEPTED): State.MAIL,
        (State.SENDER_CHECKING, Trigger.SENDER_REFUSED): State.READY,
        (State.MAIL, Trigger.RECIPIENT_OFFERED): State.RECIPIENT_CHECKING,
        (State.RCPT, Trigger.RECIPIENT_OFFERED): State.RECIPIENT_CHECKING,
        (State.RECIPIENT_CHECKING, Trigger.RECIPIENT_ACCEPTED): State.RCPT,
        (State.RECIPIENT_CHECKING, Trigger.RECIPIENT_REFUSED): BACK,
    }
    for state in COMMAND_STATES:
        table[(state, Trigger.BDAT_REFUSED)] = State.BDAT
    for state in State:
        if state is State.CLOSED or state in AWAITING_ANSWER:
            continue
        table[(state, Trigger.CLOSE)] = State.CLOSED
    return table


STEPS = _steps()


def _moves() -> dict[tuple[State, Move], Target]:
    moves: dict[tuple[State, Move], Target] = {}
    for (state, command), target in TRANSITIONS.items():
        moves[(state, command)] = target
    for (state, trigger), step_target in STEPS.items():
        moves[(state, trigger)] = step_target
    return moves


MOVES = _moves()
"""Every move of the state: the commands' and the triggers'."""


def next_state(state: State, move: Move, back: State | None = None) -> State:
    """Where `move` leads from `state`; `back` is where a refused chunk returns.

    A move the table lacks is our own misuse of the state machine, never the peer's:
    a command out of sequence is refused before it gets here.
    """
    target = MOVES.get((state, move))
    if target is None:
        raise LocalProtocolError(f"no move {move} from {state}")
    if target is BACK:
        if back is None or back not in COMMAND_STATES:
            raise LocalProtocolError(f"{move} from {state} with nowhere to go back to")
        return back
    assert isinstance(target, State)
    return target


def out_of_sequence(state: State, command: Command) -> Reply:
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
