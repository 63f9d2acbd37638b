"""The mail transaction being built (RFC 5321 §3.3): its sender, its recipients, its message."""

from __future__ import annotations

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.commands import Mail, Rcpt
from postier.protocol.smtp.events import MessageComplete, MessageRefused
from postier.protocol.smtp.reply import Reply


class Transaction:
    """What MAIL and the RCPTs accepted so far said; empty outside a transaction."""

    __slots__ = ("body", "recipients", "sender", "smtputf8")

    def __init__(self) -> None:
        self.sender = ""
        self.recipients: list[str] = []
        self.smtputf8 = False
        self.body: str | None = None

    def reset(self) -> None:
        self.sender = ""
        self.recipients = []
        self.smtputf8 = False
        self.body = None

    def begin(self, command: Mail) -> None:
        self.sender = command.sender
        self.smtputf8 = command.smtputf8
        self.body = command.body

    def recipient_refusal(self, command: Rcpt, max_recipients: int) -> Reply | None:
        """Why this recipient cannot be added; None when it can."""
        if not self.smtputf8 and not command.recipient.isascii():
            return catalogue.needs_smtputf8()
        if len(self.recipients) >= max_recipients:
            # RFC 5321 §4.5.3.1.10: 452, and the client sends the rest later.
            return catalogue.too_many_recipients()
        return None

    def refused(self, size: int, reply: Reply) -> MessageRefused:
        return MessageRefused(self.sender, tuple(self.recipients), size, reply)

    def complete(
        self, size: int, *, helo: str, extended: bool, tls: bool, auth_user: str | None
    ) -> MessageComplete:
        return MessageComplete(
            sender=self.sender,
            recipients=tuple(self.recipients),
            size=size,
            helo=helo,
            protocol=self._with_keyword(extended, tls, auth_user is not None),
            smtputf8=self.smtputf8,
            body=self.body,
            auth_user=auth_user,
        )

    def _with_keyword(self, extended: bool, tls: bool, auth: bool) -> str:
        """RFC 3848 and RFC 6531 §3.7.3: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP,
        UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA."""
        if not extended:
            return "SMTP"
        base = "UTF8SMTP" if self.smtputf8 else "ESMTP"
        return base + ("S" if tls else "") + ("A" if auth else "")
