"""One message in full, through the email package: its headers, text, HTML and
attachments, and the JSON object that `read --json` prints for it.

Any message must give a view, however malformed: a header the email package cannot
parse falls back to its text as written, and a part in an unknown charset to UTF-8 with
replacement characters.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any, Final

from .bodytext import render
from .mime import MAX_DEPTH, is_body
from .scan import StoredMessage
from .summary import LONE_SURROGATE, decode_header, fields, header_end, parse_date

_PARSER: Final = BytesParser(policy=policy.default)
_AS_WRITTEN: Final = policy.default.clone(max_line_length=None)
"""Serialises a forwarded message without refolding its headers."""


def _fix(text: str) -> str:
    """Text without lone surrogates, which no UTF-8 output takes: those that stand for
    undecodable bytes in the email package's parsed headers are decoded as UTF-8, any
    other (a UTF-7 encoded word can make one) becomes U+FFFD, as do bytes that are no UTF-8."""
    if LONE_SURROGATE.search(text) is None:
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment: a leaf part that is not a body (see `mime`)."""

    name: str | None
    type: str
    part: Message = field(repr=False, compare=False)

    def content(self) -> bytes:
        """The attachment's bytes, transfer encoding (base64, quoted-printable) undone."""
        payload = self.part.get_payload()
        if isinstance(payload, list):
            # A forwarded message: its bytes; other branches (nested too deep) have none.
            if self.part.get_content_maintype() != "message" or not payload:
                return b""
            inner = payload[0]
            with contextlib.suppress(Exception):
                return inner.as_bytes(policy=_AS_WRITTEN) if isinstance(inner, Message) else b""
            return b""
        data = self.part.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""

    @property
    def size(self) -> int:
        return len(self.content())


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as `read N` shows it and `read --json` prints it."""

    index: int
    """Its number in its mailbox (`MessageSummary.number`): 0 when it was not counted."""
    raw: bytes
    sender: str
    """`From:` as written, decoded ("Name <address>")."""
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None
    message_id: str | None
    plain: str | None
    """The text/plain bodies, joined; None when there is none."""
    html: str | None
    """The first text/html body; None when there is none."""
    attachments: list[Attachment]
    delivered_to: str | None
    delivered: datetime | None

    @property
    def text(self) -> str | None:
        """The text to read: the text part, or the HTML part rendered as text."""
        if self.plain is not None:
            return self.plain
        return render(self.html) if self.html is not None else None

    def to_json(self) -> dict[str, Any]:
        """The object `read --json` prints; its keys are fixed for scripts."""
        return {
            "index": self.index,
            "from": self.from_address,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "size": len(self.raw),
            "message_id": self.message_id,
            "raw": self.raw.decode("utf-8", "replace"),
            "raw_base64": base64.b64encode(self.raw).decode("ascii"),
            "text": self.text,
            "html": self.html,
            "attachments": [
                {"name": item.name, "type": item.type, "size": item.size}
                for item in self.attachments
            ],
        }


def view(index: int, stored: StoredMessage) -> MessageView:
    """Parse the `index`-th message of a mailbox into its view."""
    raw = stored.raw
    message = _PARSER.parsebytes(raw)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage
    written = fields(raw[: header_end(raw)])
    plain: list[str] = []
    html: str | None = None
    attachments: list[Attachment] = []
    for leaf in leaves(message):
        content_type = leaf.get_content_type()
        name = _filename(leaf)
        if not is_body(content_type, leaf.get_content_disposition(), name):
            attachments.append(Attachment(name, content_type, leaf))
        elif content_type == "text/plain":
            plain.append(_text_of(leaf))
        elif html is None:
            html = _text_of(leaf)
    delivered_to = written.get("delivered-to")
    return MessageView(
        index=index,
        raw=raw,
        sender=_header_text(message, "from", written),
        from_address=next(iter(_addresses(message, "from", raw)), ""),
        to=_addresses(message, "to", raw),
        cc=_addresses(message, "cc", raw),
        subject=_header_text(message, "subject", written),
        date=_date(message, written) or stored.delivered,
        message_id=_header_text(message, "message-id", written) or None,
        plain="\n\n".join(plain) if plain else None,
        html=html,
        attachments=attachments,
        delivered_to=decode_header("delivered-to", delivered_to) if delivered_to else None,
        delivered=stored.delivered,
    )


def leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """The leaf parts of a message, depth first, not entering forwarded messages."""
    if part.get_content_maintype() == "multipart" and part.is_multipart() and depth < MAX_DEPTH:
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from leaves(child, depth + 1)
    else:
        yield part


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a malformed parameter
        return None
    return None if name is None else _fix(str(name))


def _text_of(part: Message) -> str:
    """A text part's content as text, in its charset; UTF-8 when it names none (or only
    ASCII, which UTF-8 extends: 8-bit text labelled so is UTF-8 in practice) or one
    this Python does not know. Undecodable bytes become U+FFFD."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"
    try:
        return _fix(data.decode(charset, "replace"))
    except (LookupError, ValueError, TypeError):  # unknown, or a codec without "replace"
        return data.decode("utf-8", "replace")


def _header_text(message: EmailMessage, name: str, written: dict[str, str]) -> str:
    """A header as text, decoded; its text as written when the email package fails on it."""
    try:
        value = message.get(name)
        return "" if value is None else " ".join(_fix(str(value)).split())
    except Exception:  # the email package failed on it
        return decode_header(name, written.get(name, ""))


def _date(message: EmailMessage, written: dict[str, str]) -> datetime | None:
    try:
        header = message.get("date")
        date = getattr(header, "datetime", None)
    except Exception:  # the email package failed on it
        return parse_date(written.get("date"))
    if not isinstance(date, datetime):
        return parse_date(written.get("date"))
    return date if date.tzinfo is not None else date.replace(tzinfo=UTC)


def _addresses(message: EmailMessage, name: str, raw: bytes) -> list[str]:
    """The addresses (`local@domain`) in every `name` header of the message."""
    try:
        found = [
            _fix(address.addr_spec)
            for header in message.get_all(name) or []
            for address in header.addresses
        ]
    except Exception:  # the standard library's lenient parser takes over
        found = [address for _, address in getaddresses(_all_values(raw, name))]
    return [address for address in found if address and address != "<>"]


def _all_values(raw: bytes, name: str) -> list[str]:
    """Every value of header `name`, as text, from the header block as written."""
    prefix = name.lower().encode("ascii") + b":"
    values = []
    for line in raw[: header_end(raw)].replace(b"\n ", b" ").replace(b"\n\t", b" ").split(b"\n"):
        if line.lower().startswith(prefix):
            values.append(line[len(prefix) :].decode("utf-8", "replace").strip())
    return values
