"""A body part's text: its transfer encoding undone (`binascii`), decoded in its charset,
and HTML rendered as text; whatever the bytes, a string comes out."""

from __future__ import annotations

import base64
import binascii
import html
import re
from email.message import Message
from typing import Final

from .html2text import html_to_text
from .summary import _part_message

_CHARSET: Final = re.compile(r';\s*[Cc][Hh][Aa][Rr][Ss][Ee][Tt]\s*=\s*(?:"([^"\\]*)"|([^\s;"]+))')
_NOT_BASE64: Final = re.compile(rb"[^A-Za-z0-9+/]")
_TAG: Final = re.compile(r"<[^>]*>")
_UUENCODE: Final = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def body_text(values: dict[str, str], body: bytes) -> str:
    """A body's text: its transfer encoding undone, decoded in its charset (as
    `message._text_of`: UTF-8 when it names none, only ASCII, or one unknown here)."""
    encoding = values.get("content-transfer-encoding", "").lower()
    if encoding == "quoted-printable":
        data = binascii.a2b_qp(body)
    elif encoding == "base64":
        data = _base64(body)
    elif encoding in _UUENCODE:
        data = _undo_encoding(encoding, body)
    else:  # 7bit, 8bit, binary, and any unknown encoding: the bytes as they are
        data = body
    charset = _charset(values.get("content-type", ""))
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError, TypeError):  # unknown, or not a text codec
        return data.decode("utf-8", "replace")


def _base64(body: bytes) -> bytes:
    """Base64 decoded as the email package does (`_encoded_words.decode_b`): padding
    added, stray characters ignored; but never the encoded text itself, which is what the
    email package gives back when a character is one too many (that one is dropped)."""
    encoded = b"".join(body.splitlines())
    missing = b"==="[: 4 - len(encoded) % 4] if len(encoded) % 4 else b""
    try:
        return base64.b64decode(encoded + missing, validate=True)
    except binascii.Error:
        pass
    for padding in (b"", b"=="):
        try:
            return base64.b64decode(encoded + padding)
        except binascii.Error:
            pass
    kept = _NOT_BASE64.sub(b"", encoded)
    return base64.b64decode(kept[: len(kept) - len(kept) % 4])


def _undo_encoding(encoding: str, body: bytes) -> bytes:
    """A transfer encoding the fast path leaves to the email package."""
    part = Message()
    part["Content-Transfer-Encoding"] = encoding
    part.set_payload(body.decode("ascii", "surrogateescape"))
    try:
        data = part.get_payload(decode=True)
    except (ValueError, binascii.Error):
        return body
    return data if isinstance(data, bytes) else body


def _charset(content_type: str) -> str:
    """The codec for a body with this Content-Type."""
    if "harset" not in content_type and "HARSET" not in content_type.upper():
        return "utf-8"
    match = _CHARSET.search(content_type)
    if match is not None and "*" not in content_type and "(" not in content_type:
        charset: str | None = (match[1] if match[1] is not None else match[2]).lower()
    else:  # RFC 2231 forms, comments: the email package reads the parameter
        try:
            charset = _part_message({"content-type": content_type}).get_content_charset()
        except (ValueError, LookupError, TypeError):
            charset = None
    if not charset or charset in ("us-ascii", "ascii") or not charset.isascii():
        return "utf-8"
    return charset


def render(markup: str) -> str:
    """An HTML body as text; the tags merely dropped if the HTML parser fails on it."""
    try:
        return html_to_text(markup)
    except Exception:  # html.parser raises AssertionError on some malformed declarations
        return html.unescape(_TAG.sub(" ", markup)).strip()
