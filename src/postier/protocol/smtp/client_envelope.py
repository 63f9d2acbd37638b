"""The client's envelope: who a message is from and to, and what the server must offer to take it.

A message the server has said it cannot take is refused before anything is sent,
with a reply of `client_refusals.py`, as a server would write it, so the caller handles both alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.smtp import client_refusals
from postier.protocol.smtp.address import AddressError, validate_mailbox
from postier.protocol.smtp.capabilities import Capabilities
from postier.protocol.smtp.reply import Reply


@dataclass(frozen=True, slots=True)
class OutgoingEnvelope:
    """Who a message is from and to (RFC 5321 §2.3.1), and what its content needs.

    Addresses are checked against RFC 5321 §4.1.2 (widened by RFC 6531) on creation,
    so that nothing a caller passes can break a command line; `AddressError` says why.
    """

    sender: str
    """The reverse-path without angle brackets; "" for the null path `<>` (bounces)."""
    recipients: tuple[str, ...]
    size: int | None = None
    """The message's size in octets as RFC 1870 §3 counts it, when known."""
    eight_bit: bool = False
    """The message holds octets above 127 (RFC 6152)."""
    utf8_headers: bool = False
    """The message's headers hold raw UTF-8, which only SMTPUTF8 allows (RFC 6532)."""

    def __post_init__(self) -> None:
        if self.sender:
            validate_mailbox(self.sender)
        if not self.recipients:
            raise AddressError("no recipient")
        for recipient in self.recipients:
            validate_mailbox(recipient, allow_postmaster=True)
        if len(set(self.recipients)) != len(self.recipients):
            raise AddressError("a recipient is given twice")

    @property
    def smtputf8(self) -> bool:
        """RFC 6531 §3.4: non-ASCII addresses or headers need the SMTPUTF8 parameter."""
        addresses = (self.sender, *self.recipients)
        return self.utf8_headers or not all(address.isascii() for address in addresses)


def wire_size(message: bytes) -> int:
    """The size RFC 1870 §3 asks for: CRLF line endings, before dot-stuffing.

    A bare LF or a bare CR is sent as CRLF (RFC 5321 §2.3.8), one octet more each.
    """
    crlf = message.count(b"\r\n")
    return len(message) + (message.count(b"\n") - crlf) + (message.count(b"\r") - crlf)


def has_eight_bit(message: bytes) -> bool:
    """True when any octet is above 127, so the body is not 7-bit (RFC 6152 §3)."""
    return not message.isascii()


def refusal_before_sending(capabilities: Capabilities, envelope: OutgoingEnvelope) -> Reply | None:
    """Why the server cannot take this message, from what it announced; None when it can."""
    limit = capabilities.size_limit
    if limit is not None and envelope.size is not None and envelope.size > limit:
        return client_refusals.message_over_size_limit(envelope.size, limit)
    if envelope.smtputf8 and not capabilities.smtputf8:
        return client_refusals.smtputf8_not_offered()
    if envelope.eight_bit and not capabilities.eight_bit_mime:
        return client_refusals.eight_bit_not_offered()
    return None
