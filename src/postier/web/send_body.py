"""The body of `POST /api/v1/send`, Mailpit's `SendRequest`, read into what `postier
send` composes from its options (a `Draft`) and the envelope to send it with.

Field names are matched in any case, and a null is a field not given (Go's decoder,
in Mailpit). Everything is checked before anything is sent; each refusal is a 400:
no `From` or no recipient, an address that is not one (RFC 5321 §4.1.2), a line break
in any field that goes into a header (it would start a field of the sender's choice:
header injection), a header the composer writes itself, an attachment that is not
base64.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Final, TypeVar

from postier.client import Attachment, Draft, header_field
from postier.protocol.smtp import AddressError, validate_mailbox

from .errors import ApiError

RESERVED: Final = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding",
    )
)  # fmt: skip
"""Headers the composer writes from the other fields (Mailpit's list, and the MIME
structure's own): `Headers` cannot set them. `X-Tags` joins them when `Tags` is given."""
TAGS_HEADER: Final = "X-Tags"
"""Where Mailpit keeps a message's tags, and writes the `Tags` of a send."""
T = TypeVar("T")

_MEDIA_TYPE: Final = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*")
"""`type/subtype` (RFC 6838 §4.2 names)."""


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A message to compose, and its envelope: Bcc is in `recipients` only."""

    draft: Draft
    sender: str
    recipients: tuple[str, ...]


def send_request(raw: bytes) -> SendRequest:
    """The request `raw` asks for; raises ApiError(400)."""
    try:
        body = json.loads(raw) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, 'send a JSON object: {"From": {"Email": ...}, "To": [...], ...}')
    fields = _fields(body)
    sender, sender_name = _mailbox(fields.get("from"), "From")
    to = _mailboxes(fields.get("to"), "To")
    cc = _mailboxes(fields.get("cc"), "Cc")
    bcc = [_address(item, "Bcc") for item in _list(fields.get("bcc"), "Bcc", str)]
    reply_to = _mailboxes(fields.get("replyto"), "ReplyTo")
    if not (to or cc or bcc):
        raise ApiError(400, "no recipient: give To, Cc or Bcc")
    tags = [_one_line(tag, "Tags") for tag in _list(fields.get("tags"), "Tags", str)]
    headers = _headers(fields.get("headers"), tagged=bool(tags))
    if tags:
        headers.append((TAGS_HEADER, ", ".join(tags)))
    subject = _string(fields.get("subject"), "Subject")
    html = _string(fields.get("html"), "HTML", one_line=False)
    draft = Draft(
        sender=_formatted(sender, sender_name),
        to=[_formatted(*item) for item in to],
        cc=[_formatted(*item) for item in cc],
        reply_to=[_formatted(*item) for item in reply_to],
        subject=subject or None,
        text=_string(fields.get("text"), "Text", one_line=False),
        html=html or None,
        attachments=_attachments(fields.get("attachments")),
        headers=headers,
    )
    recipients = tuple(address for address, _ in (*to, *cc)) + tuple(bcc)
    return SendRequest(draft, sender, recipients)


def _fields(value: Mapping[str, object]) -> dict[str, object]:
    """The object's fields by lower-case name, nulls left out."""
    return {key.lower(): item for key, item in value.items() if item is not None}


def _string(value: object, where: str, *, one_line: bool = True) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{where} must be a string")
    return _one_line(value, where) if one_line else value


def _one_line(value: str, where: str) -> str:
    if "\r" in value or "\n" in value:
        raise ApiError(400, f"a line break in {where}: refused (it would start a header)")
    return value


def _list(value: object, where: str, kind: type[T]) -> list[T]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        what = "strings" if kind is str else "objects"
        raise ApiError(400, f"{where} must be a list of {what}")
    return [item for item in value if isinstance(item, kind)]


def _address(value: object, where: str) -> str:
    text = _one_line(_string(value, where), where).strip()
    if not text:
        raise ApiError(400, f"{where}: an address is required")
    try:
        if validate_mailbox(text) != text:
            raise AddressError("a source route has no place here")
    except AddressError as error:
        raise ApiError(400, f"invalid {where} address {text!r}: {error}") from None
    return text


def _mailbox(value: object, where: str) -> tuple[str, str]:
    """`{"Email": ..., "Name": ...}` as the address and the name ("" for none)."""
    if value is None:
        raise ApiError(400, f'{where} is required: {{"Email": "address", "Name": "..."}}')
    if not isinstance(value, dict):
        raise ApiError(400, f'{where} must be an object {{"Email": ..., "Name": ...}}')
    fields = _fields(value)
    return _address(fields.get("email"), where), _string(fields.get("name"), f"{where} Name")


def _mailboxes(value: object, where: str) -> list[tuple[str, str]]:
    return [_mailbox(item, where) for item in _list(value, where, dict)]


def _formatted(address: str, name: str) -> str:
    """`Name <address>`, the name quoted where it must be (RFC 5322 §3.4); non-ASCII is
    encoded when the message is written (RFC 2047)."""
    if not name.strip():
        return address
    local, _, domain = address.rpartition("@")
    try:
        return str(Address(display_name=name.strip(), username=local, domain=domain))
    except (ValueError, IndexError) as error:
        raise ApiError(400, f"the name of {address} cannot be written: {error}") from None


def _headers(value: object, *, tagged: bool) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(400, 'Headers must be an object {"Name": "value", ...}')
    reserved = RESERVED | {TAGS_HEADER.lower()} if tagged else RESERVED
    headers = []
    for name, text in value.items():
        try:
            field = header_field(_one_line(name, "Headers"), _one_line(text, f"Headers {name}"))
        except ValueError as error:
            raise ApiError(400, f"Headers: {error}: refused") from None
        if field[0].lower() in reserved:
            raise ApiError(400, f'cannot overwrite header: "{field[0]}"')
        headers.append(field)
    return headers


def _attachments(value: object) -> list[Attachment]:
    return [_attachment(item) for item in _list(value, "Attachments", dict)]


def _attachment(value: dict[str, object]) -> Attachment:
    fields = _fields(value)
    filename = _string(fields.get("filename"), "Attachments Filename").strip()
    if not filename:
        raise ApiError(400, "an attachment needs its Filename")
    content_type = _string(fields.get("contenttype"), "Attachments ContentType").strip()
    if content_type and not _MEDIA_TYPE.fullmatch(content_type):
        raise ApiError(400, f"attachment {filename!r}: not a type/subtype: {content_type!r}")
    content_id = _string(fields.get("contentid"), "Attachments ContentID").strip().strip("<>")
    content = _string(fields.get("content"), "Attachments Content", one_line=False)
    # A data: URL (`data:image/png;base64,...`, what a browser's FileReader gives) is
    # taken for its base64, as Mailpit does.
    # Line breaks in the base64 are skipped (RFC 2045 §6.8 wraps it; Go's decoder too).
    encoded = content.rpartition(",")[2].replace("\r", "").replace("\n", "")
    try:
        data = binascii.a2b_base64(encoded.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ApiError(400, f"attachment {filename!r}: Content is not base64: {error}") from None
    return Attachment(filename, data, content_type or None, content_id or None)
