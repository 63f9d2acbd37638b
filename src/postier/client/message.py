"""Turn what `send_message` is given into the bytes to send and their envelope.

An `EmailMessage` is written out here, without its Bcc, with a generator that never
quotes a body line `From ...` as `>From ...` (that is mbox's business, not SMTP's).
Bytes are sent as they are.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable, Iterator, Sequence
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import IO, Final

from postier.protocol.smtp import AddressError, OutgoingEnvelope, has_eight_bit, wire_size

_ADDRESS_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")
_RECIPIENT_HEADERS = ("To", "Cc", "Bcc")
CHUNK: Final = 64 * 1024
"""Message data is handed to the transport in pieces this big, each with its deadline."""


def prepare(
    message: EmailMessage | bytes,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> tuple[bytes, OutgoingEnvelope]:
    """The wire bytes (before dot-stuffing) and the envelope for `message`.

    Without `sender`, the Sender or From header gives it; without `recipients`, To,
    Cc and Bcc do (as smtplib's `send_message` does). Raises `AddressError`.
    """
    if isinstance(message, bytes):
        headers: Message = BytesHeaderParser(policy=policy.default).parsebytes(message)
        data = message
        utf8_headers = not _header_block(message).isascii()
    else:
        headers = message
        utf8_headers = not all(address.isascii() for address in _addresses(message))
        data = serialize(message, utf8=utf8_headers)
    envelope = OutgoingEnvelope(
        sender=_sender(headers) if sender is None else sender,
        recipients=tuple(dict.fromkeys(_recipients(headers) if recipients is None else recipients)),
        size=wire_size(data),
        eight_bit=has_eight_bit(data),
        utf8_headers=utf8_headers,
    )
    return data, envelope


def serialize(message: EmailMessage, *, utf8: bool = False) -> bytes:
    """The message in CRLF lines, Bcc left out (RFC 5322 §3.6.3), nothing `>From`-quoted.

    `utf8` writes non-ASCII headers as raw UTF-8 (RFC 6532), for SMTPUTF8; otherwise
    they are encoded per RFC 2047.
    """
    outgoing = copy.copy(message)  # `del` builds a new header list: the caller's stays whole
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    out = io.BytesIO()
    generator = BytesGenerator(out, mangle_from_=False, policy=policy.SMTP.clone(utf8=utf8))
    generator.flatten(outgoing)
    return out.getvalue()


def _header_block(data: bytes) -> bytes:
    """The header section: up to the first empty line (RFC 5322 §2.1)."""
    ends = [i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0]
    return data[: min(ends)] if ends else data


def _addresses(message: Message, names: Iterable[str] = _ADDRESS_HEADERS) -> list[str]:
    """The bare addresses in the named headers (any policy: header objects are strings)."""
    values = [str(value) for name in names for value in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _sender(message: Message) -> str:
    for name in ("Sender", "From"):
        addresses = _addresses(message, (name,))
        if addresses:
            return addresses[0]
    raise AddressError("no sender: give one, or a From header")


def _recipients(message: Message) -> list[str]:
    recipients = _addresses(message, _RECIPIENT_HEADERS)
    if not recipients:
        raise AddressError("no recipient: give them, or To, Cc or Bcc headers")
    return recipients


def pieces(data: bytes) -> Iterator[bytes]:
    """`data` a `CHUNK` at a time, each handed to the transport with its own deadline."""
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def read_pieces(source: IO[bytes]) -> Iterator[bytes]:
    """`source` from its start, a `CHUNK` at a time (a local file: each read is short)."""
    source.seek(0)
    while piece := source.read(CHUNK):
        yield piece
