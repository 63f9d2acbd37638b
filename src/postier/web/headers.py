"""A message's header block as Mailpit's API shows it, read from its first bytes alone.

`/headers` is Go's `mail.Header`: every field under its canonical name (`Message-Id`,
`Content-Type`: `textproto.CanonicalMIMEHeaderKey`), its values in order, unfolded and
not decoded. The other fields of a message that the index does not keep (`Reply-To`,
the login of the sender, `List-Unsubscribe`) are read from the same block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Final

from postier.store.read import decode_header, header_end

HEAD_LIMIT: Final = 1 << 20
"""Bytes of a message read for its header block; a longer block is cut there."""
_AUTHENTICATED: Final = re.compile(r"\(Authenticated sender: ([^()]*)\)")
_LINK: Final = re.compile(r"<([^<>]*)>")


def header_block(head: bytes) -> bytes:
    """The header block at the start of `head` (the message's first bytes)."""
    return head[: header_end(head)]


def canonical_name(name: str) -> str:
    """Go's canonical form of a field name: each dash-separated word capitalised, the
    rest lower case (`message-ID` → `Message-Id`); a name with other than letters,
    digits and dashes is left as written, as Go leaves it."""
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        return name
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def fields(block: bytes) -> list[tuple[str, str]]:
    """The block's fields in order, `(name as written, value unfolded)`; lines that are
    not fields (no colon) are skipped, as a lenient reader does."""
    found: list[tuple[str, str]] = []
    text = block.decode("utf-8", "replace").replace("\r\n", "\n")
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] in " \t":
            if found:
                name, value = found[-1]
                found[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        if colon and name.strip() and name == name.rstrip():
            found.append((name, value.strip()))
    return found


def headers_object(block: bytes) -> dict[str, list[str]]:
    """`/headers`: canonical name → its values in order, the names sorted."""
    grouped: dict[str, list[str]] = {}
    for name, value in fields(block):
        grouped.setdefault(canonical_name(name), []).append(value)
    return dict(sorted(grouped.items()))


def first(block: bytes, name: str) -> str:
    """The first value of field `name` (any case), unfolded; "" without one."""
    wanted = name.lower()
    return next((value for key, value in fields(block) if key.lower() == wanted), "")


def addresses(block: bytes, name: str) -> list[tuple[str, str]]:
    """The `(decoded name, address)` pairs of every `name` field, empty ones left out."""
    values = [value for key, value in fields(block) if key.lower() == name.lower()]
    try:
        pairs = getaddresses(values)
    except Exception:  # the lenient parser failed: no address
        return []
    return [
        (decode_header("name", display) if display else "", address)
        for display, address in pairs
        if address and address != "<>"
    ]


def username(block: bytes) -> str:
    """The login the sender gave postier (its `Received:` says so), else ""."""
    received = first(block, "received")
    if "(postier)" not in received:
        return ""
    match = _AUTHENTICATED.search(received)
    return match[1].strip() if match else ""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Mailpit's `ListUnsubscribe`: the header, its links (at most one `mailto:` and one
    HTTP(S)), what is wrong with it, and `List-Unsubscribe-Post`."""

    header: str
    links: list[str]
    errors: str
    header_post: str


def unsubscribe(block: bytes) -> Unsubscribe:
    """What `List-Unsubscribe` (RFC 2369, RFC 8058) offers."""
    header = first(block, "list-unsubscribe")
    links: list[str] = []
    problems: list[str] = []
    for written in _LINK.findall(header):
        link = written.strip()
        mailto = link.lower().startswith("mailto:")
        kind = "mailto" if mailto else "http"
        if not mailto and not link.lower().startswith(("http://", "https://")):
            problems.append(f"unsupported link: {link}")
        elif any(other.lower().startswith("mailto:") == mailto for other in links):
            problems.append(f"more than one {kind} link: {link}")
        else:
            links.append(link)
    if header and not links and not problems:
        problems.append("no <link> in the header")
    return Unsubscribe(header, links, "; ".join(problems), first(block, "list-unsubscribe-post"))
