"""What the index stores about one message (list fields, addresses, text, snippet), read
fast from its bytes without the email package's full parse.

The header block is read by one regular expression (as `summary` does), a multipart body
is cut at its boundary lines, and only the text/plain and text/html leaves that are bodies
(the rule of `mime`) are decoded, by `binascii` and `bytes.decode`. The email package is
used only for what is rare and easy to get wrong: parameters in RFC 2231 form and
uuencoded parts. Any bytes give a record: undecodable text becomes U+FFFD, and every
string is valid UTF-8 (no lone surrogate), so that SQLite can store it.

In a multipart/alternative that has a text/plain body with text in it, the HTML
alternatives are not rendered: RFC 2046 §5.1.4 makes them the same content, and rendering
HTML costs ten times what the rest of the message does.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import getaddresses
from typing import Final

from ..tagging import header_tags
from .bodytext import body_text, render
from .mime import BODY_TYPES, MAX_DEPTH, is_body
from .summary import (
    LONE_SURROGATE,
    _boundary,
    _content_type,
    _part_message,
    _split_parts,
    decode_header,
    header_end,
    parse_date,
)

SNIPPET_LENGTH: Final = 250
_NAMES: Final = (
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "delivered-to",
    "content-type",
    "content-disposition",
    "content-transfer-encoding",
    "x-tags",
)
_REPEATED: Final = frozenset({"to", "cc", "x-tags"})
"""Fields of which every occurrence counts (the others: the first, as the email package)."""


def _any_case(name: str) -> str:
    # Explicit [Ff] classes: much faster in `re` than the IGNORECASE flag.
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in name)


_FIELD: Final = re.compile(
    ("\n(" + "|".join(_any_case(name) for name in _NAMES) + ")[ \t]*:[ \t]*").encode()
    + rb"([^\n]*(?:\n[ \t][^\n]*)*)"
)
_KEYS: dict[bytes, str] = {}
"""Field names as written (`From`, `SUBJECT`) and in lower case: a few spellings recur."""
_MAX_KEYS: Final = 64
_FOLD: Final = re.compile(r"\r?\n(?=[ \t])")
_SPECIALS: Final = frozenset('()<>@,:;."[]\\')
"""Characters that make a display name need quotes (RFC 5322 §3.2.3)."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """What the index keeps of one message: what lists show and what searches look at."""

    sender: str
    """`From:`, decoded, as written ("Name <address>"), spaces collapsed; as `summary`."""
    from_address: str
    """The bare address of the first `From:` mailbox ("" if none)."""
    to: tuple[str, ...]
    """Each `To:` mailbox as "Name <address>" or "address", decoded."""
    cc: tuple[str, ...]
    subject: str
    message_id: str
    date: datetime | None
    delivered_to: str | None
    attachments: int
    text: str
    """Every body's text joined by a LF: text/plain decoded in its charset, text/html
    rendered by `html_to_text` (not when a text/plain alternative stands beside it)."""
    snippet: str
    """The start of the text/plain bodies (else of the first HTML body as text), each
    whitespace run one space, at most `SNIPPET_LENGTH` characters."""
    tags: tuple[str, ...] = ()
    """The tags its `X-Tags:` fields give it (`tagging.header_tags`)."""


@dataclass(slots=True)
class _Bodies:
    """What the walk over the part tree finds, in the order the parts come."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    attachments: int = 0

    def add(self, other: _Bodies) -> None:
        self.plain += other.plain
        self.html += other.html
        self.texts += other.texts
        self.attachments += other.attachments


def extract(raw: bytes) -> Extracted:
    """The index's record of a message (`raw`: LF line endings, no mbox quoting)."""
    end = header_end(raw)
    values, repeated = _fields(raw[:end])
    bodies = _Bodies()
    body_start = end + 1 if raw.startswith(b"\n", end) else end
    _walk(
        values,
        raw,
        body_start,
        len(raw),
        default="text/plain",
        depth=0,
        skip_html=False,
        out=bodies,
    )
    senders = _mailboxes(values.get("from", ""))
    delivered_to = values.get("delivered-to")
    return Extracted(
        sender=_clean(decode_header("from", values.get("from", ""))),
        from_address=senders[0][1] if senders else "",
        to=_addresses(repeated.get("to")),
        cc=_addresses(repeated.get("cc")),
        subject=_clean(decode_header("subject", values.get("subject", ""))),
        message_id=" ".join(values.get("message-id", "").split()),
        date=parse_date(values.get("date")),
        delivered_to=_clean(decode_header("delivered-to", delivered_to)) if delivered_to else None,
        attachments=bodies.attachments,
        text=_clean("\n".join(bodies.texts)),
        snippet=_clean(_snippet(bodies)),
        tags=tuple(
            header_tags(decode_header("x-tags", value) for value in repeated.get("x-tags", []))
        ),
    )


def _fields(head: bytes) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The first value of each wanted field, unfolded (as `summary.fields`), and every
    value of the fields in `_REPEATED`."""
    found: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for name, value in _FIELD.findall(b"\n" + head):
        key = _KEYS.get(name)
        if key is None:
            key = name.decode("ascii").lower()
            if len(_KEYS) < _MAX_KEYS:
                _KEYS[name] = key
        text = value.decode("utf-8", "replace")
        text = (_FOLD.sub("", text) if "\n" in text else text).strip()
        if key in _REPEATED:
            repeated.setdefault(key, []).append(text)
        found.setdefault(key, text)
    return found, repeated


# -- the part tree -----------------------------------------------------------------------


def _walk(
    values: dict[str, str],
    data: bytes,
    start: int,
    end: int,
    *,
    default: str,
    depth: int,
    skip_html: bool,
    out: _Bodies,
) -> None:
    """Collect the part with header `values` and body `data[start:end]`: by the same
    steps as `summary._count`, so that both count the same attachments."""
    kind = _content_type(values, default)
    if kind.startswith("multipart/") and depth < MAX_DEPTH:
        boundary = _boundary(values["content-type"]) if "content-type" in values else None
        spans = None if boundary is None else _split_parts(data, start, end, boundary.encode())
        if spans is not None:
            # RFC 2046 §5.1.5: in a digest, a part without a type is a message.
            inner = "message/rfc822" if kind == "multipart/digest" else "text/plain"
            children = [_child(data, s, e) for s, e in spans]
            if kind == "multipart/alternative" and not skip_html:
                _alternatives(children, data, depth + 1, out)
                return
            for child, child_start, child_end in children:
                _walk(
                    child,
                    data,
                    child_start,
                    child_end,
                    default=inner,
                    depth=depth + 1,
                    skip_html=skip_html,
                    out=out,
                )
            return
    body = _is_body(values, kind)
    if body is None:
        out.attachments += 1
    elif body == "text/plain":
        text = body_text(values, data[start:end])
        out.plain.append(text)
        out.texts.append(text)
    elif not skip_html:
        text = render(body_text(values, data[start:end]))
        out.html.append(text)
        out.texts.append(text)


def _alternatives(
    children: list[tuple[dict[str, str], int, int]], data: bytes, depth: int, out: _Bodies
) -> None:
    """The parts of a multipart/alternative: its HTML left out when a text/plain part
    beside it says something (else the HTML is all there is to read)."""
    if any(
        _is_body(child, _content_type(child, "text/plain")) == "text/plain"
        for child, *_ in children
    ):
        found = _Bodies()
        for child, start, end in children:
            _walk(
                child,
                data,
                start,
                end,
                default="text/plain",
                depth=depth,
                skip_html=True,
                out=found,
            )
        if any(text and not text.isspace() for text in found.plain):
            out.add(found)
            return
    found = _Bodies()
    for child, start, end in children:
        _walk(
            child, data, start, end, default="text/plain", depth=depth, skip_html=False, out=found
        )
    out.add(found)


def _child(data: bytes, start: int, end: int) -> tuple[dict[str, str], int, int]:
    """A part's header fields and where its body lies."""
    head_end = header_end(data, start, end)
    values, _ = _fields(data[start:head_end])
    return values, head_end + 1 if data.startswith(b"\n", head_end, end) else head_end, end


def _is_body(values: dict[str, str], kind: str) -> str | None:
    """The leaf's type when it is a body (text/plain or text/html), else None."""
    if kind not in BODY_TYPES:
        return None
    if "content-disposition" not in values and "name" not in values.get("content-type", "").lower():
        return kind  # the usual body: no parameter can make it an attachment
    part = _part_message(values)
    try:
        return kind if is_body(kind, part.get_content_disposition(), part.get_filename()) else None
    except (ValueError, LookupError, TypeError):  # a parameter the email package cannot read
        return None


def _snippet(bodies: _Bodies) -> str:
    """The first `SNIPPET_LENGTH` characters of the text to show, whitespace collapsed;
    only as much of the text as that needs is looked at."""
    texts = bodies.plain if any(not text.isspace() and text for text in bodies.plain) else []
    source = "\n".join(texts or bodies.html[:1])
    size = 2 * SNIPPET_LENGTH
    while True:
        collapsed = " ".join(source[:size].split())
        if size >= len(source):
            return collapsed[:SNIPPET_LENGTH].rstrip()
        # The last word may be cut by the prefix: what comes before it must suffice.
        complete = collapsed.rpartition(" ")[0]
        if len(complete) >= SNIPPET_LENGTH:
            return complete[:SNIPPET_LENGTH].rstrip()
        size *= 4


# -- addresses ---------------------------------------------------------------------------


def _addresses(values: list[str] | None) -> tuple[str, ...]:
    """Each mailbox of a field's values, as "Name <address>" or "address"."""
    if not values:
        return ()
    return tuple(_shown(name, address) for value in values for name, address in _mailboxes(value))


@functools.lru_cache(maxsize=4096)
def _mailboxes(value: str) -> tuple[tuple[str, str], ...]:
    """The (decoded name, address) pairs of an address field, without empty addresses.

    The field is parsed before its encoded words are decoded, so that a decoded comma or
    angle bracket cannot split a name. Recipients repeat in a mailbox, hence the cache."""
    try:
        pairs = getaddresses([value])
    except Exception:  # the standard library's lenient parser failed: no address
        return ()
    return tuple(
        (_clean(decode_header("name", name)) if name else "", _clean(address))
        for name, address in pairs
        if address and address != "<>"
    )


def _shown(name: str, address: str) -> str:
    """A mailbox as the email package's `Address` prints it: the name quoted when it
    holds a special character."""
    if not name:
        return address
    if not _SPECIALS.isdisjoint(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _clean(text: str) -> str:
    """`text` without lone surrogates (some codecs make them), each one U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text)
    return text
