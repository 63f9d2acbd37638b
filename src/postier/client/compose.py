"""Write a message with the standard `email` package: headers, text, HTML, attachments.

RFC 5322 for the headers, RFC 2045-2049 for MIME, RFC 2047 for non-ASCII header text
(done by `email.policy.SMTP` when the message is turned into bytes).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

# RFC 5322 §2.1.1: a line is at most 998 characters; past that, text must be encoded.
MAX_LINE = 998
# RFC 5322 §3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126.
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file given by its bytes rather than its path (the HTTP API's attachments)."""

    filename: str
    data: bytes
    content_type: str | None = None
    """`type/subtype`; None: guessed from `filename`, as for a path."""
    content_id: str | None = None
    """Set: an inline part the HTML refers to as `cid:content_id` (RFC 2392), kept with
    the HTML in a multipart/related (RFC 2387); None: an attachment."""


@dataclass(frozen=True, slots=True)
class Draft:
    """What a message is made of. Bcc has no place here: it never appears in the headers."""

    sender: str
    """The From header: an address, or `Name <address>`."""
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    subject: str | None = None
    text: str = ""
    html: str | None = None
    attachments: Sequence[Path | Attachment] = ()
    reply_to: Sequence[str] = ()
    headers: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """Extra headers, in order; one named like a header set here replaces it."""


def compose(draft: Draft, *, date: datetime | None = None) -> EmailMessage:
    """The message, with `Date`, `Message-ID` and `MIME-Version` (RFC 5322 §3.6, RFC 2045 §4).

    Raises `OSError` when an attachment cannot be read, `ValueError` for a bad header.
    """
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = draft.sender
    if draft.to:
        message["To"] = ", ".join(draft.to)
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    if draft.reply_to:
        message["Reply-To"] = ", ".join(draft.reply_to)
    if draft.subject is not None:
        message["Subject"] = draft.subject
    message["Date"] = format_datetime(date or datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain=_domain_of(draft.sender))
    for name, value in draft.headers:
        if name in message:
            del message[name]
        message[name] = value
    message.set_content(draft.text, cte=text_encoding(draft.text))
    if draft.html is not None:
        message.add_alternative(draft.html, subtype="html", cte=text_encoding(draft.html))
    files = [_loaded(item) for item in draft.attachments]
    html = _html_part(message)
    for item in files:
        if item.content_id is not None and html is not None:
            maintype, subtype = _type_of(item)
            html.add_related(
                item.data, maintype=maintype, subtype=subtype, filename=item.filename,
                cid=f"<{item.content_id}>", disposition="inline",
            )  # fmt: skip
    for item in files:
        if item.content_id is None or html is None:
            maintype, subtype = _type_of(item)
            cid = None if item.content_id is None else f"<{item.content_id}>"
            message.add_attachment(
                item.data, maintype=maintype, subtype=subtype, filename=item.filename, cid=cid
            )
    return message


def _loaded(item: Path | Attachment) -> Attachment:
    if isinstance(item, Attachment):
        return item
    return Attachment(item.name, item.read_bytes(), "/".join(attachment_type(item)))


def _type_of(item: Attachment) -> tuple[str, str]:
    if item.content_type is None:
        return attachment_type(Path(item.filename))
    maintype, _, subtype = item.content_type.partition("/")
    return maintype, subtype


def _html_part(message: EmailMessage) -> EmailMessage | None:
    """The HTML alternative, which inline parts go with; None without one."""
    if message.get_content_type() != "multipart/alternative":
        return None
    for part in message.iter_parts():
        if isinstance(part, EmailMessage) and part.get_content_type() == "text/html":
            return part
    return None


def text_encoding(text: str) -> str:
    """7bit when the text can go as it is (so it is sent exactly as written), else quoted-printable.

    quoted-printable keeps the message 7-bit, so it never needs 8BITMIME (RFC 6152).
    """
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"


def attachment_type(path: Path) -> tuple[str, str]:
    """The MIME type the file name suggests; application/octet-stream when it suggests none."""
    guessed, encoding = mimetypes.guess_type(path.name)
    if guessed is None or encoding is not None:
        # A compressed file (.tar.gz) is sent as the bytes it is, not as its contents.
        return "application", "octet-stream"
    maintype, _, subtype = guessed.partition("/")
    return maintype, subtype


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` into its two parts; `ValueError` unless it is a valid header field."""
    name, colon, value = text.partition(":")
    if not colon:
        raise ValueError(f"not a header 'Name: value': {text!r}")
    return header_field(name, value)


def header_field(name: str, value: str) -> tuple[str, str]:
    """The field `name: value`, stripped; `ValueError` unless it is a valid header field:
    a field name (RFC 5322 §3.6.8) and a value on one line (no CR or LF, which would
    start another field)."""
    name = name.strip()
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"not a header name: {name!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"the value of {name} cannot hold a line break")
    return name, value.strip()


def address_of(text: str) -> str:
    """The bare address in `Name <address>` (or `address` as it is)."""
    return parseaddr(text)[1] or text.strip()


def _domain_of(sender: str) -> str:
    domain = address_of(sender).rpartition("@")[2].strip("[]")
    try:
        # A Message-ID is ASCII (RFC 5322 §3.6.4): an international domain goes as IDNA.
        return domain.encode("idna").decode("ascii") if domain else "postier.invalid"
    except UnicodeError:
        return "postier.invalid"
