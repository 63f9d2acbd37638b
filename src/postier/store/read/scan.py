"""Finds the messages of an mbox or a Maildir without parsing them: where each one is, its
envelope line or file name, its bytes.

An mbox is read in large chunks and cut at each `\\nFrom ` (mboxrd quoting guarantees that
every other line starting with `From ` got a `>`); a message's bytes are what lies between
its `From ` line and the empty line that ends it, quoting undone only when asked for.
A Maildir is listed from `new/` and `cur/`, in the order received (the time in each file name,
which postier's store takes from the envelope, as an mbox's `From ` line does).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Final

from ..mboxrd import unquote_mboxrd
from .errors import DamagedMailbox
from .snapshot import pending

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
_MAILDIR_TIME: Final = re.compile(r"(\d+)\.(?:[^.]*?M(\d{1,6})(?!\d))?")
MAILDIR_SUBDIRS: Final = ("new", "cur")
_EPOCH: Final = datetime.fromtimestamp(0, UTC)


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


def iter_mbox(fd: int, start: int, end: int, *, chunk: int = CHUNK) -> Iterator[StoredMessage]:
    """Each message of the mbox open at `fd` between offsets `start` and `end`.

    `start` is the beginning of a `From ` line (0, or the end of what was read before)
    and `end` the end of a complete message. Raises DamagedMailbox when the data there
    does not start with a `From ` line.
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
            # Search again only the bytes that may hold a separator cut by the chunk's end.
            search = max(line_end, len(window.buf) - len(_SEPARATOR) + 1)
            shift = window.more(pos)
            pos, line_end = pos - shift, line_end - shift
            separator = window.buf.find(_SEPARATOR, search - shift)
        buf = window.buf
        next_start = len(buf) if separator < 0 else separator + 1
        data = buf[line_end + 1 : next_start]
        # The empty line after each message belongs to the mbox, not to the message.
        if data.endswith(b"\n\n") or data == b"\n":
            data = data[:-1]
        yield StoredMessage(
            data=data, quoted=True, envelope=buf[pos:line_end], offset=window.base + pos
        )
        pos = next_start


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


def read_first(fd: int, end: int) -> StoredMessage | None:
    """The first message of an mbox, read in small chunks (only its head is wanted)."""
    return next(iter_mbox(fd, 0, end, chunk=1 << 16), None)


# -- Maildir ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaildirFile:
    """One message file of a Maildir."""

    path: str
    size: int
    order: tuple[int, int, str]
    """Delivery order: seconds, microseconds, then the unique name."""

    @property
    def delivered(self) -> datetime:
        """When it was received: the time in its name (or of its last change)."""
        seconds, micros, _ = self.order
        try:
            return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
        except (OverflowError, OSError, ValueError):
            return _EPOCH

    def read(self) -> StoredMessage | None:
        """The message, or None when it went away (expunged, or moved by a mail client)."""
        try:
            data = _read_file(self.path, self.size)
        except FileNotFoundError:
            moved = _moved_to_cur(self.path)
            if moved is None:
                return None
            data = _read_file(moved, self.size)
        return StoredMessage(data=data, quoted=False, filed=self.delivered)


def _read_file(path: str, size: int) -> bytes:
    """A whole file, with plain system calls: a hundred thousand of them add up."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, max(size, 1 << 16)))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _moved_to_cur(path: str) -> str | None:
    """Where a mail client moved a message of `new/`: `cur/<unique>:2,<flags>`."""
    directory, name = os.path.split(path)
    if os.path.basename(directory) != "new":
        return None
    cur = os.path.join(os.path.dirname(directory), "cur")
    unique = name.split(":", 1)[0]
    try:
        names = os.listdir(cur)
    except FileNotFoundError:
        return None
    for candidate in names:
        if candidate.split(":", 1)[0] == unique:
            return os.path.join(cur, candidate)
    return None


def is_maildir(path: Path | str) -> bool:
    """Whether `path` is a directory with the `new/` and `cur/` of a Maildir."""
    return all(os.path.isdir(os.path.join(path, sub)) for sub in MAILDIR_SUBDIRS)


def list_maildir(maildir: Path) -> list[MaildirFile]:
    """The messages of a Maildir in delivery order, without the uncommitted ones."""
    found: list[MaildirFile] = []
    for sub in MAILDIR_SUBDIRS:
        try:
            scan = os.scandir(maildir / sub)
        except FileNotFoundError:
            continue  # a Maildir being created, or one a client never used cur/ in
        with scan as entries:
            for entry in entries:
                # Dot files are not messages, by the Maildir convention.
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append(_maildir_file(entry.path, entry.name, info))
    # Listed after the files: a copy seen in new/ had its journal written before it was
    # renamed there, so a journal still listing it now means "not committed yet".
    uncommitted = pending(maildir.parent).maildir_files
    if uncommitted:
        prefix = maildir.name + "/"
        found = [item for item in found if prefix + os.path.basename(item.path) not in uncommitted]
    found.sort(key=lambda item: item.order)
    return found


def _maildir_file(path: str, name: str, info: os.stat_result) -> MaildirFile:
    unique = name.split(":", 1)[0]
    match = _MAILDIR_TIME.match(unique)
    if match is not None:
        seconds, micros = int(match[1]), int(match[2] or 0)
    else:
        # Not named by the convention: the time it was written stands in.
        seconds, micros = divmod(info.st_mtime_ns // 1000, 1_000_000)
    return MaildirFile(path, info.st_size, (seconds, micros, unique))
