"""What the POP3 core tells the session: each calls for the session to act, then answer.

The core answers every command it can by itself (STAT, LIST, UIDL, DELE, RSET, NOOP,
CAPA); an event is what needs the outside world: a password checked and a mailbox taken,
a TLS handshake, a message read from the store, the deletions at QUIT, the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.pop3.responses import Response
from postier.protocol.sasl import Credentials


@dataclass(frozen=True, slots=True)
class LoginRequested:
    """Check these credentials, take the mailbox, answer `login_accepted` or `login_refused`.

    `mechanism` is "USER" for USER/PASS and "APOP" for APOP (its challenge the greeting's
    timestamp), else the SASL mechanism."""

    credentials: Credentials


@dataclass(frozen=True, slots=True)
class TlsRequested:
    """`+OK` is queued: send it, then shake hands and call `tls_started`."""


@dataclass(frozen=True, slots=True)
class MessageRequested:
    """Open message `number` (`uid`) and call `message_opened`, or `message_unavailable`.

    `lines` is TOP's count of body lines; None for RETR (the whole message)."""

    number: int
    uid: str
    lines: int | None


@dataclass(frozen=True, slots=True)
class UpdateRequested:
    """QUIT in TRANSACTION: remove `deleted`, mark `read` read, call `update_done`."""

    deleted: tuple[str, ...]
    read: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommandRefused:
    """Answered `-ERR` by the core (for the log)."""

    response: Response


@dataclass(frozen=True, slots=True)
class Closing:
    """Send what is queued, then close the connection."""

    response: Response


Pop3Event = (
    LoginRequested | TlsRequested | MessageRequested | UpdateRequested | CommandRefused | Closing
)
