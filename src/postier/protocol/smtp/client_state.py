"""The client's states and every move between them. Everything that moves the state lives here.

Drawn from `TRANSITIONS` (a test holds the two together), one move per arrow:

    CONNECTED --greeting 2xx--> GREETED --ehlo()--> HELLO --EHLO 2xx, HELO 2xx--> READY
    CONNECTED --greeting 4xx/5xx--> REJECTED --quit()--> QUIT
    HELLO --EHLO 5xx--> HELLO
    HELLO --EHLO 4xx, HELO 4xx/5xx--> GREETED
    READY --ehlo()--> HELLO
    READY --starttls()--> STARTTLS --STARTTLS 2xx--> TLS_HANDSHAKE --tls_started()--> GREETED
    STARTTLS --STARTTLS 4xx/5xx--> READY
    READY --authenticate()--> AUTH --AUTH 2xx/4xx/5xx--> READY
    AUTH --AUTH 3xx--> AUTH
    READY --send_envelope()--> ENVELOPE --DATA 3xx--> DATA --end_data(), data aborted--> MESSAGE
    ENVELOPE --MAIL 2xx/4xx/5xx, RCPT 2xx/4xx/5xx, DATA 4xx/5xx--> ENVELOPE
    DATA --send_data()--> DATA
    MESSAGE --end of data 2xx/4xx/5xx--> MESSAGE
    ENVELOPE/MESSAGE --transaction over--> READY
    ENVELOPE --reset needed--> RESET
    GREETED/READY --rset()--> RESET --RSET 2xx/4xx/5xx--> back
    GREETED/READY --noop()--> NOOP --NOOP 2xx/4xx/5xx--> back
    GREETED/READY --quit()--> QUIT --QUIT 2xx/4xx/5xx--> CLOSED
    any --closed--> CLOSED

`name()` is a driver's call; `VERB 2xx` (or `greeting 2xx`, `end of data 2xx`) is a
reply of that class to what the client waits for; the other words are the
connection's own conclusions: "data aborted" (354 came although every recipient was
refused: a lone "."), "reset needed" (RSET after a failed transaction), "transaction
over", and "closed" (a 421 to anything but QUIT, RFC 5321 §3.8, or the server hung
up). `back` is the state RSET or NOOP was sent from (they change nothing, RFC 5321
§4.1.1.5 and §4.1.1.9); after the RSET of a failed transaction that is ENVELOPE,
which the transaction then leaves.

A move missing from the table is a `LocalProtocolError` for a call or a conclusion (we
misused the connection) and a `RemoteProtocolError` for a reply (250 to DATA, 354 to
MAIL: the server broke the protocol), so a wrong step cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from postier.protocol.smtp.client_events import Awaited
from postier.protocol.smtp.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.smtp.replies import Reply
from postier.protocol.table_key import TableKey


class ClientState(TableKey):
    CONNECTED = auto()
    """Waiting for the server's greeting (RFC 5321 §3.1)."""
    REJECTED = auto()
    """The greeting refused service (554): only QUIT remains (RFC 5321 §3.1)."""
    GREETED = auto()
    """Greeted, or TLS just started: EHLO is due (RFC 3207 §4.2)."""
    HELLO = auto()
    """EHLO (or the HELO fallback) sent."""
    READY = auto()
    """No transaction in progress; commands may be sent."""
    STARTTLS = auto()
    """STARTTLS sent."""
    TLS_HANDSHAKE = auto()
    """220 to STARTTLS received; the driver runs the handshake."""
    AUTH = auto()
    """A SASL exchange is under way (RFC 4954)."""
    ENVELOPE = auto()
    """MAIL, RCPT and DATA sent (one at a time, or as one group with PIPELINING)."""
    DATA = auto()
    """354 received: the message data is being sent."""
    MESSAGE = auto()
    """The end of data sent; waiting for the verdict."""
    RESET = auto()
    """RSET sent (by the driver, or after a failed transaction)."""
    NOOP = auto()
    """NOOP sent."""
    QUIT = auto()
    """QUIT sent."""
    CLOSED = auto()


class Call(TableKey):
    """The driver's calls that move the state."""

    EHLO = auto()
    STARTTLS = auto()
    TLS_STARTED = auto()
    AUTHENTICATE = auto()
    SEND_ENVELOPE = auto()
    SEND_DATA = auto()
    END_DATA = auto()
    RSET = auto()
    NOOP = auto()
    QUIT = auto()


class Outcome(Enum):
    """What the connection concludes by itself from the replies so far."""

    DATA_ABORTED = "data aborted"
    RESET_NEEDED = "reset needed"
    TRANSACTION_OVER = "transaction over"
    CLOSED = "closed"


class ReplyClass(TableKey):
    """The first digit of a reply (RFC 5321 §4.2.1)."""

    COMPLETED = 2
    """Positive completion: the command is done."""
    INTERMEDIATE = 3
    """Positive intermediate: go on (the data after DATA, the next AUTH line)."""
    TRANSIENT = 4
    PERMANENT = 5

    @classmethod
    def of(cls, reply: Reply) -> ReplyClass:
        return cls(reply.code // 100)


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply of one class to what the client was waiting for.

    Only `awaited` and `kind` select the move; the rest says what went wrong when none fits.
    """

    awaited: Awaited
    kind: ReplyClass
    code: int = field(default=0, compare=False)
    shown: str = field(default="", compare=False)

    @classmethod
    def to(cls, awaited: Awaited, shown: str, reply: Reply) -> Answer:
        return cls(awaited, ReplyClass.of(reply), reply.code, shown)


class Back(Enum):
    BACK = "back"
    """The state the machine was in before this one."""


BACK = Back.BACK
Trigger = Call | Outcome | Answer
"""What happened: a move is looked up by the state and this."""

_S = ClientState
_C = ReplyClass
_DONE = (_C.COMPLETED, _C.TRANSIENT, _C.PERMANENT)
_NEGATIVE = (_C.TRANSIENT, _C.PERMANENT)


_Table = dict[tuple[ClientState, Trigger], ClientState | Back]


def _answers(
    state: ClientState, awaited: Awaited, kinds: tuple[ReplyClass, ...], target: ClientState | Back
) -> _Table:
    """The same move for replies of several classes."""
    return {(state, Answer(awaited, kind)): target for kind in kinds}


def _transitions() -> _Table:
    table: _Table = {
        (_S.GREETED, Call.EHLO): _S.HELLO,
        (_S.READY, Call.EHLO): _S.HELLO,
        (_S.READY, Call.STARTTLS): _S.STARTTLS,
        (_S.TLS_HANDSHAKE, Call.TLS_STARTED): _S.GREETED,
        (_S.READY, Call.AUTHENTICATE): _S.AUTH,
        (_S.READY, Call.SEND_ENVELOPE): _S.ENVELOPE,
        (_S.DATA, Call.SEND_DATA): _S.DATA,
        (_S.DATA, Call.END_DATA): _S.MESSAGE,
        (_S.DATA, Outcome.DATA_ABORTED): _S.MESSAGE,
        (_S.ENVELOPE, Outcome.TRANSACTION_OVER): _S.READY,
        (_S.MESSAGE, Outcome.TRANSACTION_OVER): _S.READY,
        (_S.ENVELOPE, Outcome.RESET_NEEDED): _S.RESET,
        (_S.REJECTED, Call.QUIT): _S.QUIT,
        **_answers(_S.CONNECTED, Awaited.GREETING, (_C.COMPLETED,), _S.GREETED),
        **_answers(_S.CONNECTED, Awaited.GREETING, _NEGATIVE, _S.REJECTED),
        **_answers(_S.HELLO, Awaited.EHLO, (_C.COMPLETED,), _S.READY),
        **_answers(_S.HELLO, Awaited.EHLO, (_C.PERMANENT,), _S.HELLO),
        **_answers(_S.HELLO, Awaited.EHLO, (_C.TRANSIENT,), _S.GREETED),
        **_answers(_S.HELLO, Awaited.HELO, (_C.COMPLETED,), _S.READY),
        **_answers(_S.HELLO, Awaited.HELO, _NEGATIVE, _S.GREETED),
        **_answers(_S.STARTTLS, Awaited.STARTTLS, (_C.COMPLETED,), _S.TLS_HANDSHAKE),
        **_answers(_S.STARTTLS, Awaited.STARTTLS, _NEGATIVE, _S.READY),
        **_answers(_S.AUTH, Awaited.AUTH, _DONE, _S.READY),
        **_answers(_S.AUTH, Awaited.AUTH, (_C.INTERMEDIATE,), _S.AUTH),
        **_answers(_S.ENVELOPE, Awaited.MAIL, _DONE, _S.ENVELOPE),
        **_answers(_S.ENVELOPE, Awaited.RCPT, _DONE, _S.ENVELOPE),
        **_answers(_S.ENVELOPE, Awaited.DATA, _NEGATIVE, _S.ENVELOPE),
        **_answers(_S.ENVELOPE, Awaited.DATA, (_C.INTERMEDIATE,), _S.DATA),
        **_answers(_S.MESSAGE, Awaited.MESSAGE, _DONE, _S.MESSAGE),
        **_answers(_S.RESET, Awaited.RSET, _DONE, BACK),
        **_answers(_S.NOOP, Awaited.NOOP, _DONE, BACK),
        **_answers(_S.QUIT, Awaited.QUIT, _DONE, _S.CLOSED),
    }
    for state in (_S.GREETED, _S.READY):
        table[(state, Call.RSET)] = _S.RESET
        table[(state, Call.NOOP)] = _S.NOOP
        table[(state, Call.QUIT)] = _S.QUIT
    for state in _S:
        if state is not _S.CLOSED:
            table[(state, Outcome.CLOSED)] = _S.CLOSED
    return table


TRANSITIONS = _transitions()
CALLS = {key: target for key, target in TRANSITIONS.items() if isinstance(key[1], Call)}
"""The driver's calls each state allows, and where they lead: a view of `TRANSITIONS`."""

IDLE = frozenset({ClientState.GREETED, ClientState.READY, ClientState.REJECTED})
"""States where no reply is awaited and the driver may call."""


class ClientStateMachine:
    """The client's state, moved only by `move()`."""

    def __init__(self) -> None:
        self._state = ClientState.CONNECTED
        self._previous = ClientState.CONNECTED

    @property
    def state(self) -> ClientState:
        return self._state

    def move(self, trigger: Trigger) -> ClientState:
        """Take the move `trigger` calls for, or raise when the table has none."""
        target = TRANSITIONS.get((self._state, trigger))
        if target is None:
            raise _misstep(self._state, trigger)
        if target is BACK:
            target = self._previous
        self._previous, self._state = self._state, target
        return target


def broken(why: str) -> RemoteProtocolError:
    """The error for a server that broke the protocol, its reply as `ReplyParser` builds it."""
    return RemoteProtocolError(Reply(500, (why,)))


def _misstep(state: ClientState, trigger: Trigger) -> LocalProtocolError | RemoteProtocolError:
    if isinstance(trigger, Answer):
        return broken(f"reply {trigger.code} does not fit {trigger.shown}")
    return LocalProtocolError(f"{trigger.name} is not allowed in state {state.name}")
