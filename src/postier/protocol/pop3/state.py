"""The POP3 server's states and its transition table. Everything that moves the state lives here.

    AUTHORIZATION --PASS/APOP--> CHECKING --login accepted--> TRANSACTION --QUIT--> UPDATE
      ^  ^  |  ^                   | login refused              |  ^                  |
      |  |  |  +-------------------+                     RETR/TOP  | message sent     | updated
      |  |  +--AUTH--> SASL --credentials--> CHECKING          v  | / unavailable    v
      |  |               | exchange failed                  MESSAGE                CLOSED
      |  +---------------+
      +--TLS started-- TLS_PENDING <--STLS-- AUTHORIZATION

    QUIT in AUTHORIZATION goes to CLOSED at once (RFC 1939 §4: no UPDATE state); every
    state but CHECKING and UPDATE may close (timeout, shutdown, a dropped connection,
    too many failures), and only QUIT in TRANSACTION reaches UPDATE: a connection that
    ends any other way deletes nothing (RFC 1939 §6).

The moves, one a line, as the test reads them against `MOVES`:

    AUTHORIZATION --USER/CAPA--> AUTHORIZATION
    AUTHORIZATION --PASS/APOP--> CHECKING
    AUTHORIZATION --AUTH--> SASL
    AUTHORIZATION --STLS--> TLS_PENDING
    AUTHORIZATION --QUIT--> CLOSED
    TRANSACTION --STAT/LIST/UIDL/DELE/NOOP/RSET/CAPA--> TRANSACTION
    TRANSACTION --RETR/TOP--> TRANSACTION
    TRANSACTION --QUIT--> UPDATE
    SASL --credentials--> CHECKING
    SASL --exchange failed--> AUTHORIZATION
    CHECKING --login accepted--> TRANSACTION
    CHECKING --login refused--> AUTHORIZATION
    TLS_PENDING --TLS started--> AUTHORIZATION
    TRANSACTION --message requested--> MESSAGE
    MESSAGE --message sent/message unavailable--> TRANSACTION
    UPDATE --updated--> CLOSED
    AUTHORIZATION/SASL/TLS_PENDING/TRANSACTION/MESSAGE --close--> CLOSED

A command is carried out only when `TRANSITIONS` has its `(state, command)` key; any
other pair gets `-ERR` (`not_in_state`). A RETR or TOP that names a message moves to
MESSAGE (`message requested`) until the session has opened it and sent it (`message
sent`), or found it gone (`message unavailable`): no command is read meanwhile. Every
other move is a `Trigger`, and `next_state()` refuses one that `MOVES` lacks as our
own misuse (`LocalProtocolError`).
"""

from __future__ import annotations

from enum import auto

from postier.protocol.pop3.commands import (
    Apop,
    Auth,
    Capa,
    Command,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)
from postier.protocol.pop3.errors import LocalProtocolError
from postier.protocol.table_key import TableKey


class State(TableKey):
    AUTHORIZATION = auto()
    """Greeted; the client has not logged in (RFC 1939 §4)."""
    SASL = auto()
    """`+ ` sent: the next line is a SASL response, not a command (RFC 5034 §4)."""
    CHECKING = auto()
    """Credentials received; the session checks them and takes the mailbox."""
    TLS_PENDING = auto()
    """`+OK` sent to STLS; waiting for the handshake (RFC 2595 §4)."""
    TRANSACTION = auto()
    """Logged in, the maildrop taken (RFC 1939 §5)."""
    MESSAGE = auto()
    """A RETR or TOP answer is being streamed from the store: nothing else is read."""
    UPDATE = auto()
    """QUIT received: the session removes the deleted messages (RFC 1939 §6)."""
    CLOSED = auto()


def _transitions() -> dict[tuple[State, type[Command]], State]:
    auth, trans = State.AUTHORIZATION, State.TRANSACTION
    table: dict[tuple[State, type[Command]], State] = {
        (auth, User): auth,
        (auth, Capa): auth,
        (auth, Pass): State.CHECKING,
        (auth, Apop): State.CHECKING,
        (auth, Auth): State.SASL,
        (auth, Stls): State.TLS_PENDING,
        (auth, Quit): State.CLOSED,
        (trans, Quit): State.UPDATE,
    }
    for stay in (Stat, List, Uidl, Dele, Noop, Rset, Capa, Retr, Top):
        table[(trans, stay)] = trans
    return table


TRANSITIONS = _transitions()

COMMAND_STATES = (State.AUTHORIZATION, State.TRANSACTION)
"""The states in which a line is a command."""


class Trigger(TableKey):
    """A move that is not a command: something read, or the session's answer."""

    CREDENTIALS = "credentials"
    EXCHANGE_FAILED = "exchange failed"
    LOGIN_ACCEPTED = "login accepted"
    LOGIN_REFUSED = "login refused"
    TLS_STARTED = "TLS started"
    MESSAGE_REQUESTED = "message requested"
    MESSAGE_UNAVAILABLE = "message unavailable"
    MESSAGE_SENT = "message sent"
    UPDATED = "updated"
    CLOSE = "close"


AWAITING_ANSWER = frozenset({State.CHECKING, State.UPDATE})
"""The client waits for the session's answer: nothing closes before it comes."""
PAUSED_STATES = frozenset({State.CHECKING, State.TLS_PENDING, State.MESSAGE, State.UPDATE})
"""The session, not the client, has the next move: no line is read meanwhile."""


def _steps() -> dict[tuple[State, Trigger], State]:
    table = {
        (State.SASL, Trigger.CREDENTIALS): State.CHECKING,
        (State.SASL, Trigger.EXCHANGE_FAILED): State.AUTHORIZATION,
        (State.CHECKING, Trigger.LOGIN_ACCEPTED): State.TRANSACTION,
        (State.CHECKING, Trigger.LOGIN_REFUSED): State.AUTHORIZATION,
        (State.TLS_PENDING, Trigger.TLS_STARTED): State.AUTHORIZATION,
        (State.TRANSACTION, Trigger.MESSAGE_REQUESTED): State.MESSAGE,
        (State.MESSAGE, Trigger.MESSAGE_UNAVAILABLE): State.TRANSACTION,
        (State.MESSAGE, Trigger.MESSAGE_SENT): State.TRANSACTION,
        (State.UPDATE, Trigger.UPDATED): State.CLOSED,
    }
    for state in State:
        if state is not State.CLOSED and state not in AWAITING_ANSWER:
            table[(state, Trigger.CLOSE)] = State.CLOSED
    return table


STEPS = _steps()
CLOSABLE = frozenset(state for state, trigger in STEPS if trigger is Trigger.CLOSE)

Move = type[Command] | Trigger


def _moves() -> dict[tuple[State, Move], State]:
    moves: dict[tuple[State, Move], State] = {}
    for (state, command), target in TRANSITIONS.items():
        moves[(state, command)] = target
    for (state, trigger), step_target in STEPS.items():
        moves[(state, trigger)] = step_target
    return moves


MOVES = _moves()
"""Every move of the state: the commands' and the triggers'."""


def next_state(state: State, move: Move) -> State:
    """Where `move` leads from `state`; a move the table lacks is our own misuse."""
    target = MOVES.get((state, move))
    if target is None:
        raise LocalProtocolError(f"no move {move} from {state}")
    return target
