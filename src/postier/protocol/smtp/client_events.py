"""What the client connection tells its driver: frozen values, one class per kind of event.

Every reply is answered inside the connection where the protocol decides the next
step by itself (the next RCPT, HELO after a refused EHLO, RSET after a failed
transaction, a lone "." when 354 came with no recipient); the driver hears only of
the outcomes it must act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from postier.protocol.smtp.capabilities import Capabilities
from postier.protocol.smtp.commands import Data, Mail, Rcpt
from postier.protocol.smtp.replies import Reply


class Awaited(Enum):
    """What a reply answers: the greeting, a command, or the end of the message data."""

    GREETING = "greeting"
    EHLO = "EHLO"
    HELO = "HELO"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    MESSAGE = "end of data"
    RSET = "RSET"
    NOOP = "NOOP"
    QUIT = "QUIT"


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """Base of every client-side event."""


@dataclass(frozen=True, slots=True)
class Greeting(ClientEvent):
    """The server is ready (220): say EHLO."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class ClientGreeted(ClientEvent):
    """EHLO was accepted, or HELO after EHLO was refused (RFC 5321 §3.2)."""

    capabilities: Capabilities
    reply: Reply


@dataclass(frozen=True, slots=True)
class TlsReady(ClientEvent):
    """220 to STARTTLS: run the TLS handshake, then call `tls_started()` (RFC 3207 §4)."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class Authenticated(ClientEvent):
    """235: the SASL exchange succeeded (RFC 4954 §4)."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class DataReady(ClientEvent):
    """354 with the envelope accepted: the message data may be sent now."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class Refused(ClientEvent):
    """A command outside a transaction was refused (the greeting, HELO, STARTTLS, AUTH)."""

    step: Awaited
    command: str
    """The command as a transcript shows it, secrets masked ("the greeting" for it)."""
    reply: Reply


@dataclass(frozen=True, slots=True)
class Done(ClientEvent):
    """RSET or NOOP was answered."""

    step: Awaited
    reply: Reply


@dataclass(frozen=True, slots=True)
class Closed(ClientEvent):
    """No command may follow: 221 to QUIT, a 421 (RFC 5321 §3.8), or the server hung up.

    `step` is what was waiting for a reply (None when nothing was); `reply` is None
    when the server closed the connection without one.
    """

    step: Awaited | None
    reply: Reply | None


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """How one mail transaction ended: every reply it got, and what they mean."""

    sender: str
    mail_reply: Reply
    recipient_replies: Mapping[str, Reply]
    """One reply per recipient, in the order they were sent (absent: never asked)."""
    data_reply: Reply | None = None
    message_reply: Reply | None = None
    """The reply to the end of data; None when the data was never sent or was aborted."""

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r for r, answer in self.recipient_replies.items() if answer.is_positive)

    @property
    def refused(self) -> Mapping[str, Reply]:
        return MappingProxyType(
            {r: answer for r, answer in self.recipient_replies.items() if not answer.is_positive}
        )

    @property
    def delivered(self) -> bool:
        """The message got 250 after its data, for every recipient in `accepted`."""
        return self.message_reply is not None and self.message_reply.is_positive

    @property
    def failure(self) -> tuple[Awaited, str, Reply] | None:
        """The step that stopped the message (with its command and reply), or None."""
        if not self.mail_reply.is_positive:
            return Awaited.MAIL, Mail(self.sender).line(), self.mail_reply
        if not self.accepted:
            recipient, answer = next(iter(self.refused.items()))
            return Awaited.RCPT, Rcpt(recipient).line(), answer
        if self.data_reply is not None and not self.data_reply.is_positive:
            return Awaited.DATA, Data().line(), self.data_reply
        if self.message_reply is not None and not self.message_reply.is_positive:
            return Awaited.MESSAGE, "the message", self.message_reply
        return None

    @property
    def retry(self) -> tuple[str, ...]:
        """Recipients refused for now with 452: send them in a later transaction.

        RFC 5321 §4.5.3.1.10: a server over its recipient limit answers 452, and the
        client sends the rest afterwards.
        """
        return tuple(r for r, answer in self.recipient_replies.items() if answer.code == 452)


@dataclass(frozen=True, slots=True)
class TransactionDone(ClientEvent):
    """The transaction is over, whatever its outcome; the connection is ready again."""

    result: TransactionResult
