"""Finds the messages of an mbox without parsing them: where each one is, its envelope
line, its bytes (`scan_maildir` lists a Maildir's).

An mbox is read in large chunks and cut at each `\\nFrom ` (mboxrd quoting guarantees that
every other line starting with `From ` got a `>`); a message's bytes are what lies between
its `From ` line and the empty line that ends it, quoting undone only when asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Final

from ..mboxrd import unquote_mboxrd
from .errors import DamagedMailbox

CHUNK: Final = 8 << 20
"""Bytes read from an mbox at a time: large enough that a read costs little per message."""

_FROM: Final = b"From "
_SEPARATOR: Final = b"\n" + _FROM
_QUOTED_LINE: Final = re.compile(rb"\n>+From ")
"""A quoted line after the first (that one is checked apart): the leading LF makes the
search skip from line to line instead of trying every byte."""
_QUOTED_FIRST: Final = re.compile(rb">+From ")
_ASCTIME: Final = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rb" +(\d{1,2}) +(\d{1,2}):(\d\d)(?::(\d\d))? +(\d{4})"
)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
"""English month abbreviations, as both mbox `From ` lines and `Date:` fields write them."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the mailbox holds it."""

    data: bytes
    """Its bytes: trace headers and message; in an mbox, still mboxrd-quoted."""
    quoted: bool
    """Whether `data` is mboxrd-quoted (it came from an mbox)."""
    envelope: bytes = b""
    """Its `From sender date` line in an mbox, without the LF."""
    filed: datetime | None = None
    """When a Maildir message was received (the time in its name)."""
    offset: int = 0
    """Where its `From ` line starts in the mbox (0 in a Maildir)."""
    whole_length: int = -1
    """How many bytes it has in the mailbox when `data` holds only the first of them
    (read with `keep`), else -1: `data` is all of it."""

    @property
    def complete(self) -> bool:
        """Whether `data` holds the whole message."""
        return self.whole_length < 0

    @property
    def length(self) -> int:
        """How many bytes it has in the mailbox (quoted, in an mbox)."""
        return len(self.data) if self.whole_length < 0 else self.whole_length

    @property
    def delivered(self) -> datetime | None:
        """When it was received: the date of its `From ` line, or the time in its Maildir name.

        Worked out only when asked: most messages have a `Date:` that is shown instead.
        """
        return envelope_time(self.envelope) if self.envelope else self.filed

    @property
    def raw(self) -> bytes:
        """The message itself: trace headers and message, LF line endings, no quoting."""
        if self.quoted and b">From " in self.data:
            return unquote_mboxrd(self.data)
        return self.data

    @property
    def size(self) -> int:
        """The length of `raw`, found without building it: one `>` less per quoted line."""
        data = self.data
        if self.quoted and b">From " in data:
            first = 1 if _QUOTED_FIRST.match(data) else 0
            return len(data) - len(_QUOTED_LINE.findall(data)) - first
        return len(data)


# -- mbox ------------------------------------------------------------------------------


class _Chunks:
    """A window on an mbox that grows by chunks and forgets what the caller is done with."""

    def __init__(self, fd: int, start: int, end: int, chunk: int) -> None:
        self.fd = fd
        self.base = start
        """The file offset of `buf[0]`."""
        self.buf = b""
        self._next = start
        self._end = end
        self._chunk = chunk

    @property
    def exhausted(self) -> bool:
        return self._next >= self._end

    def more(self, keep: int) -> int:
        """Forget `buf[:keep]` and read one more chunk; return how far indexes moved."""
        data = os.pread(self.fd, min(self._chunk, self._end - self._next), self._next)
        if not data:
            raise DamagedMailbox("the mailbox shrank while it was read; try again")
        self.buf = self.buf[keep:] + data
        self.base += keep
        self._next += len(data)
        return keep


def iter_mbox(
    fd: int, start: int, end: int, *, chunk: int = CHUNK, keep: int | None = None
) -> Iterator[StoredMessage]:
    """Each message of the mbox open at `fd` between offsets `start` and `end`.

    `start` is the beginning of a `From ` line (0, or the end of what was read before)
    and `end` the end of a complete message. Raises DamagedMailbox when the data there
    does not start with a `From ` line. With `keep`, a message longer than that comes
    with its first `keep` bytes only (`StoredMessage.complete`), and no more than `keep`
    and two chunks are held at a time.
    """
    window = _Chunks(fd, start, end, chunk)
    pos = 0  # where the current message's `From ` line starts in window.buf
    while True:
        line_end = window.buf.find(b"\n", pos)
        while line_end < 0 and not window.exhausted:
            pos -= window.more(pos)
            line_end = window.buf.find(b"\n", pos)
        if pos >= len(window.buf):
            return
        if line_end < 0 or not window.buf.startswith(_FROM, pos):
            offset = window.base + pos
            raise DamagedMailbox(f"no `From ` line where a message should start (byte {offset})")
        separator = window.buf.find(_SEPARATOR, line_end)
        while separator < 0 and not window.exhausted:
            if keep is not None and len(window.buf) - line_end > keep + 1:
                break
            # Search again only the bytes that may hold a separator cut by the chunk's end.
            search = max(line_end, len(window.buf) - len(_SEPARATOR) + 1)
            shift = window.more(pos)
            pos, line_end = pos - shift, line_end - shift
            separator = window.buf.find(_SEPARATOR, search - shift)
        buf = window.buf
        if separator < 0 and not window.exhausted:
            # Too long to keep: its start, then find its end without holding the rest.
            head, envelope = buf[line_end + 1 : line_end + 1 + (keep or 0)], buf[pos:line_end]
            offset, data_start = window.base + pos, window.base + line_end + 1
            search = window.base + max(line_end, len(buf) - len(_SEPARATOR) + 1)
            del buf
            window.buf = b""
            found = _find_separator(fd, search, end, chunk)
            next_offset = end if found < 0 else found + 1
            whole = next_offset - data_start
            if os.pread(fd, 2, next_offset - 2) == b"\n\n":
                whole -= 1
            if whole <= len(head):  # its end lay just past what was searched
                yield StoredMessage(
                    data=head[:whole], quoted=True, envelope=envelope, offset=offset
                )
            else:
                yield StoredMessage(
                    data=head, quoted=True, envelope=envelope, offset=offset, whole_length=whole
                )
            window = _Chunks(fd, next_offset, end, chunk)
            pos = 0
            continue
        next_start = len(buf) if separator < 0 else separator + 1
        data = buf[line_end + 1 : next_start]
        # The empty line after each message belongs to the mbox, not to the message.
        if data.endswith(b"\n\n") or data == b"\n":
            data = data[:-1]
        yield StoredMessage(
            data=data, quoted=True, envelope=buf[pos:line_end], offset=window.base + pos
        )
        pos = next_start


def _find_separator(fd: int, offset: int, end: int, chunk: int) -> int:
    """Where the next `\nFrom ` lies from `offset` on (before `end`), or -1."""
    tail = b""
    while offset < end:
        data = os.pread(fd, min(chunk, end - offset), offset)
        if not data:
            raise DamagedMailbox("the mailbox shrank while it was read; try again")
        window = tail + data
        found = window.find(_SEPARATOR)
        if found >= 0:
            return offset - len(tail) + found
        tail = window[-(len(_SEPARATOR) - 1) :]
        offset += len(data)
    return -1


@dataclass(frozen=True, slots=True)
class MboxCount:
    """What `inbox` needs of an mbox: how many messages, and the last one's `From ` line."""

    count: int
    last_line: bytes | None


def count_mbox(fd: int, end: int, *, chunk: int = CHUNK) -> MboxCount:
    """Count the messages of the mbox open at `fd` (its first `end` bytes) by their
    separators alone, without cutting out any message."""
    if end <= 0:
        return MboxCount(0, None)
    if os.pread(fd, len(_FROM), 0) != _FROM:
        raise DamagedMailbox("it does not start with a `From ` line")
    count = 1
    last = 0
    tail = b""
    offset = 0
    while offset < end:
        data = os.pread(fd, min(chunk, end - offset), offset)
        if not data:
            raise DamagedMailbox("the mailbox shrank while it was read; try again")
        # A separator cut by the chunk's end is found in `tail + data`; one found wholly
        # in `tail` is impossible (the tail is shorter than a separator), so none counts twice.
        window = tail + data
        count += window.count(_SEPARATOR)
        found = window.rfind(_SEPARATOR)
        if found >= 0:
            last = offset - len(tail) + found + 1
        tail = window[-(len(_SEPARATOR) - 1) :]
        offset += len(data)
    line = os.pread(fd, min(1024, end - last), last)
    return MboxCount(count, line.split(b"\n", 1)[0])


def envelope_time(line: bytes) -> datetime | None:
    """The date of a `From sender date` line (asctime, UTC by convention), or None."""
    match = _ASCTIME.search(line)
    if match is None:
        return None
    _, month, day, hour, minute, second, year = match.groups()
    return calendar_date((year, month, day), (hour, minute, second), UTC)


Field = str | bytes


def calendar_date(
    date: tuple[Field, Field, Field], time: tuple[Field, Field, Field | None], zone: tzinfo
) -> datetime | None:
    """The moment of a date written as mail writes them: `(year, month, day)` with the month
    an English abbreviation (in any case), `(hour, minute, second)`, the second optional;
    None when there is no such month or day."""
    year, month, day = date
    hour, minute, second = time
    name = month.decode("ascii") if isinstance(month, bytes) else month
    try:
        return datetime(
            int(year),
            _MONTHS[name.lower()],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=zone,
        )
    except (KeyError, ValueError, OverflowError):
        return None
