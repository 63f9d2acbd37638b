"""What the server connection tells its session: frozen values, one class per kind of event.

Most commands are answered inside the connection and produce no event; the session
hears only about what needs its action (data to spool, a message to store, TLS to
start, a connection to close) or what it logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.sasl_server import Credentials


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """Base of every server-side event (the client's are in `client_events.py`)."""


@dataclass(frozen=True, slots=True)
class HeloAccepted(ServerEvent):
    """EHLO or HELO was accepted (again after STARTTLS)."""

    name: str
    extended: bool


@dataclass(frozen=True, slots=True)
class TransactionStarted(ServerEvent):
    """MAIL FROM was accepted."""

    sender: str


@dataclass(frozen=True, slots=True)
class SenderOffered(ServerEvent):
    """MAIL FROM passed the core's checks and the session decides about the sender:
    call `answer_sender()`. Told only when the session asked to decide
    (`decides_senders`); the connection processes nothing further until then."""

    sender: str


@dataclass(frozen=True, slots=True)
class RecipientOffered(ServerEvent):
    """RCPT TO passed the core's checks and the session decides about the recipient:
    call `answer_recipient()`. Told only when the session asked to decide
    (`decides_recipients`); a pipelined burst waits, each RCPT for its verdict."""

    sender: str
    recipient: str


@dataclass(frozen=True, slots=True)
class RecipientAccepted(ServerEvent):
    """RCPT TO was accepted."""

    recipient: str


@dataclass(frozen=True, slots=True)
class DataStarted(ServerEvent):
    """354 was sent, or the first BDAT chunk begins: message data follows, as
    `DataChunk` events."""


@dataclass(frozen=True, slots=True)
class DataChunk(ServerEvent):
    """A piece of the message, dot-stuffing removed, line endings as received."""

    data: bytes


@dataclass(frozen=True, slots=True)
class MessageComplete(ServerEvent):
    """The end of data arrived and the message is within limits.

    The connection now waits, processing nothing further, until the session calls
    `answer_message()` with the outcome of storing it: a 250 is a promise that the
    message is on disk.
    """

    sender: str
    recipients: tuple[str, ...]
    size: int
    helo: str
    protocol: str
    """The `with` keyword for `Received:` (RFC 5321 §4.4, RFC 3848, RFC 6531 §3.7.3)."""
    smtputf8: bool
    body: str | None
    auth_user: str | None = None
    """Who authenticated in this session (RFC 4954), for `Received:` and the log."""


@dataclass(frozen=True, slots=True)
class MessageRefused(ServerEvent):
    """The end of data arrived but the message broke a limit; the reply is already queued."""

    sender: str
    recipients: tuple[str, ...]
    size: int
    reply: Reply


@dataclass(frozen=True, slots=True)
class CommandRefused(ServerEvent):
    """A command was answered with an error (syntax, sequence, limit)."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class CredentialsReceived(ServerEvent):
    """An AUTH exchange gave credentials: check them, then call `answer_auth()`.

    The connection processes nothing further until then; checking a password is slow
    on purpose and belongs on a thread.
    """

    credentials: Credentials


@dataclass(frozen=True, slots=True)
class StartTlsRequested(ServerEvent):
    """220 was sent to STARTTLS: send it, then upgrade and call `tls_started()`."""


@dataclass(frozen=True, slots=True)
class Closing(ServerEvent):
    """The last reply (221, 421 or 554) is queued: send it and close the connection."""

    reply: Reply
