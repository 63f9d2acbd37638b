"""One mail transaction from the client's side: its commands, its replies, and what each calls for.

Without PIPELINING each reply decides the next command; with it (RFC 2920) MAIL,
every RCPT and DATA leave as one group, and only DATA's reply decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from postier.protocol.smtp.capabilities import Capabilities
from postier.protocol.smtp.client_envelope import OutgoingEnvelope
from postier.protocol.smtp.client_events import Awaited, TransactionResult
from postier.protocol.smtp.commands import Mail, Rcpt
from postier.protocol.smtp.replies import Reply


class Next(Enum):
    """What the connection does after a reply of the transaction."""

    WAIT = auto()
    """More replies of the group are due: nothing yet."""
    RECIPIENT = auto()
    """Send the next RCPT."""
    DATA = auto()
    """Send DATA: some recipient was accepted."""
    SEND = auto()
    """354 with the envelope accepted: the driver sends the message data."""
    ABORT = auto()
    """354 although nothing was accepted: a lone "." ends the data (RFC 2920 §3.1)."""
    RESET = auto()
    """RSET: the server still holds the sender (RFC 5321 §4.1.1.5)."""
    FINISH = auto()
    """The transaction is over."""


@dataclass(slots=True)
class Transaction:
    """The replies one transaction has had so far."""

    envelope: OutgoingEnvelope
    pipelined: bool
    mail_reply: Reply | None = None
    recipient_replies: dict[str, Reply] = field(default_factory=dict)
    data_reply: Reply | None = None
    message_reply: Reply | None = None
    next_recipient: int = 0
    aborted: bool = False

    @property
    def mail_accepted(self) -> bool:
        return self.mail_reply is not None and self.mail_reply.is_positive

    @property
    def any_accepted(self) -> bool:
        return any(answer.is_positive for answer in self.recipient_replies.values())

    def mail(self, capabilities: Capabilities) -> Mail:
        """MAIL with the parameters the server offers and the message needs."""
        envelope = self.envelope
        return Mail(
            envelope.sender,
            envelope.size if capabilities.size else None,
            "8BITMIME" if envelope.eight_bit and capabilities.eight_bit_mime else None,
            envelope.smtputf8 and capabilities.smtputf8,
        )

    def rcpt(self) -> Rcpt:
        """RCPT for the next recipient not yet asked for."""
        recipient = self.envelope.recipients[self.next_recipient]
        self.next_recipient += 1
        return Rcpt(recipient)

    def after(self, awaited: Awaited, recipient: str, reply: Reply) -> Next:
        """Record the reply to `awaited` (for RCPT, to `recipient`) and say what follows."""
        if awaited is Awaited.MAIL:
            return self._after_mail(reply)
        if awaited is Awaited.RCPT:
            return self._after_rcpt(recipient, reply)
        if awaited is Awaited.DATA:
            return self._after_data(reply)
        if not self.aborted:
            self.message_reply = reply
        return Next.FINISH

    def _after_mail(self, reply: Reply) -> Next:
        self.mail_reply = reply
        if self.pipelined:
            return Next.WAIT
        return Next.RECIPIENT if reply.is_positive else Next.FINISH

    def _after_rcpt(self, recipient: str, reply: Reply) -> Next:
        self.recipient_replies[recipient] = reply
        if self.pipelined:
            return Next.WAIT
        if self.next_recipient < len(self.envelope.recipients):
            return Next.RECIPIENT
        return Next.DATA if self.any_accepted else Next.RESET

    def _after_data(self, reply: Reply) -> Next:
        self.data_reply = reply
        if not reply.is_positive:
            return Next.RESET if self.mail_accepted else Next.FINISH
        if self.mail_accepted and self.any_accepted:
            return Next.SEND
        self.aborted = True
        return Next.ABORT

    def result(self) -> TransactionResult:
        assert self.mail_reply is not None
        return TransactionResult(
            sender=self.envelope.sender,
            mail_reply=self.mail_reply,
            recipient_replies=dict(self.recipient_replies),
            data_reply=self.data_reply,
            message_reply=self.message_reply,
        )
