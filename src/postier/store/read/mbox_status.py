"""An mbox message's read state, as mutt and Thunderbird keep it: the `Status:` header field.

Its value is a set of letters: `R` the message was read, `O` it is old (the client has
seen it listed). Marking a message read makes it `RO`; unread, it loses `R` only, and a
field left empty goes. Only the first `Status:` of the header block counts, and the
message is changed nowhere else, so its stable ID (`identity`, which leaves `Status:` out)
stays the same.
"""

from __future__ import annotations

import re
from typing import Final

_BLANK_LINE: Final = re.compile(rb"\n\r?\n")
_STATUS: Final = re.compile(rb"^status:([^\n]*(?:\n|$)(?:[ \t][^\n]*(?:\n|$))*)", re.I | re.M)
"""The field with its continuation lines; group 1 is its value with their line endings."""


def header_end(data: bytes) -> int:
    """Where the header block of `data` ends: just past the LF of its last field."""
    if data.startswith((b"\n", b"\r\n")):
        return 0
    blank = _BLANK_LINE.search(data)
    return len(data) if blank is None else blank.start() + 1


def _flags(value: bytes) -> bytes:
    return b"".join(value.split())


def status_seen(head: bytes) -> bool | None:
    """Whether the message whose header block (or whole message) is `head` was read: True
    with a `Status:` holding `R`, False with one without, None with none."""
    found = _STATUS.search(head, 0, header_end(head))
    if found is None:
        return None
    return b"R" in _flags(found[1])


def with_status(data: bytes, seen: bool) -> bytes:
    """`data` (one message) with its `Status:` saying read or unread; `data` itself when it
    says so already."""
    end = header_end(data)
    found = _STATUS.search(data, 0, end)
    if found is None:
        if not seen:
            return data
        head = data[:end]
        newline = b"\r\n" if head.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
        if head and not head.endswith(b"\n"):
            head += newline  # a header block without a final line end
        return head + b"Status: RO" + newline + data[end:]
    flags = _flags(found[1])
    if seen:
        if b"R" in flags and b"O" in flags:
            return data
        value = b"RO" + flags.replace(b"R", b"").replace(b"O", b"")
    else:
        if b"R" not in flags:
            return data
        value = flags.replace(b"R", b"")
    field = found[0]
    newline = b"\r\n" if field.endswith(b"\r\n") else b"\n" if field.endswith(b"\n") else b""
    replacement = b"Status: " + value + newline if value else b""
    return data[: found.start()] + replacement + data[found.end() :]
