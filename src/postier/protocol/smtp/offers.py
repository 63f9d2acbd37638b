"""What the server offers at this point of a conversation, and the refusal of what it does not.

STARTTLS only in clear (RFC 3207 §4.2); AUTH only after EHLO, once, and where it may
be used (RFC 4954 §4); MAIL only once authenticated when the configuration says so,
and never for a message announced bigger than the limit (RFC 1870 §6.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.capabilities import ehlo_keywords
from postier.protocol.smtp.commands import Auth, Mail
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.reply import Reply


@dataclass(frozen=True, slots=True)
class Offers:
    """The extensions on offer for one connection, in clear or under TLS."""

    config: ServerConfig
    tls_active: bool

    @property
    def starttls(self) -> bool:
        return self.config.tls_available and not self.tls_active

    @property
    def auth(self) -> bool:
        return bool(self.config.auth_mechanisms) and (self.tls_active or self.config.auth_insecure)

    def keywords(self) -> list[str]:
        """The EHLO reply's lines after the greeting."""
        return ehlo_keywords(
            max_size=self.config.max_message_size,
            starttls=self.starttls,
            auth_mechanisms=self.config.auth_mechanisms if self.auth else (),
        )

    def starttls_refusal(self) -> Reply:
        """Why STARTTLS is not on offer."""
        if self.tls_active:
            return catalogue.tls_already_active()
        return catalogue.not_implemented("STARTTLS")

    def auth_refusal(self, command: Auth, *, extended: bool, authenticated: bool) -> Reply | None:
        """Why this AUTH cannot start; None when it can."""
        if not self.config.auth_mechanisms:
            return catalogue.not_implemented("AUTH")
        if not extended:
            return catalogue.auth_needs_ehlo()
        if authenticated:
            return catalogue.already_authenticated()  # RFC 4954 §4
        if not self.auth:
            return catalogue.auth_needs_tls()
        if command.mechanism not in self.config.auth_mechanisms:
            return catalogue.unknown_mechanism()
        return None

    def mail_refusal(self, command: Mail, *, authenticated: bool) -> Reply | None:
        """Why this MAIL cannot start a transaction; None when it can."""
        if self.config.auth_required and not authenticated:
            need_tls = bool(self.config.auth_mechanisms) and not self.auth
            return catalogue.starttls_first() if need_tls else catalogue.auth_required()
        if command.size is not None and command.size > self.config.max_message_size:
            # RFC 1870 §6.1: refuse at once what could never be accepted.
            return catalogue.size_exceeded(self.config.max_message_size)
        return None
