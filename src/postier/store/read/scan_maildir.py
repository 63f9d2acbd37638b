"""Lists the messages of a Maildir from `new/` and `cur/`, in the order received (the time
in each file name, which postier's store takes from the envelope, as an mbox's `From `
line does), without the uncommitted ones."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ..maildir_layout import CUR, MESSAGE_DIRS, NEW
from .scan import StoredMessage
from .snapshot import pending

_MAILDIR_TIME: Final = re.compile(r"(\d+)\.(?:[^.]*?M(\d{1,6})(?!\d))?")
_EPOCH: Final = datetime.fromtimestamp(0, UTC)


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

    def read(self, keep: int | None = None) -> StoredMessage | None:
        """The message, or None when it went away (expunged, or moved by a mail client);
        with `keep`, only its first `keep` bytes when it is longer."""
        limit = None if keep is None or self.size <= keep else keep
        try:
            data = _read_file(self.path, self.size, limit)
        except FileNotFoundError:
            moved = _moved_to_cur(self.path)
            if moved is None:
                return None
            data = _read_file(moved, self.size, limit)
        if limit is not None and len(data) >= limit:
            return StoredMessage(
                data=data, quoted=False, filed=self.delivered, whole_length=self.size
            )
        return StoredMessage(data=data, quoted=False, filed=self.delivered)

    def chunks(self, size: int) -> Iterator[bytes]:
        """The file's bytes, `size` at a time (nothing when it went away); as `read`,
        `cur/` is looked in only when the file left `new/`."""
        try:
            file = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            moved = _moved_to_cur(self.path)
            if moved is None:
                return
            try:
                file = open(moved, "rb", buffering=0)  # noqa: SIM115 (closed below)
            except FileNotFoundError:
                return
        with file:
            while chunk := file.read(size):
                yield chunk


def _read_file(path: str, size: int, limit: int | None = None) -> bytes:
    """A whole file (or its first `limit` bytes), with plain system calls: a hundred
    thousand of them add up."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if limit is not None:
            return os.pread(fd, limit, 0)
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, max(size, 1 << 16)))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _moved_to_cur(path: str) -> str | None:
    """Where a mail client moved a message of `new/`: `cur/<unique>:2,<flags>`."""
    directory, name = os.path.split(path)
    if os.path.basename(directory) != NEW:
        return None
    cur = os.path.join(os.path.dirname(directory), CUR)
    unique = name.split(":", 1)[0]
    try:
        names = os.listdir(cur)
    except FileNotFoundError:
        return None
    for candidate in names:
        if candidate.split(":", 1)[0] == unique:
            return os.path.join(cur, candidate)
    return None


@dataclass(frozen=True, slots=True)
class MaildirListing:
    """A Maildir's committed messages, and how many copies were held back as uncommitted
    (renamed into `new/`, their delivery's journal record not complete yet)."""

    files: list[MaildirFile]
    held_back: int


def list_maildir(maildir: Path) -> MaildirListing:
    """The messages of a Maildir in delivery order, without the uncommitted ones."""
    return describe(maildir, list_locations(maildir))


def list_locations(maildir: Path) -> list[str]:
    """The `new/NAME` and `cur/NAME` of every message file of a Maildir, from the
    directory entries' names alone (without a `stat` each): what a look compares
    with the index, a hundred thousand names in a large Maildir."""
    found: list[str] = []
    for sub in MESSAGE_DIRS:
        try:
            names = os.listdir(os.path.join(maildir, sub))
        except (FileNotFoundError, NotADirectoryError):
            continue  # a Maildir being created, or one a client never used cur/ in
        prefix = sub + "/"
        # Dot files are not messages, by the Maildir convention; what is no file is left
        # out by `describe` (a name the index knows was a file when it was read).
        found.extend(prefix + name for name in names if not name.startswith("."))
    return found


def describe(maildir: Path, locations: list[str]) -> MaildirListing:
    """The message files at `locations` (`list_locations`) that are still there and
    committed, in delivery order."""
    found: list[MaildirFile] = []
    for location in locations:
        path = os.path.join(maildir, location)
        try:
            info = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        found.append(_maildir_file(path, os.path.basename(location), info))
    # Listed after the files: a copy seen in new/ had its journal written before it was
    # renamed there, so a journal still listing it now means "not committed yet".
    uncommitted = pending(maildir.parent).maildir_files if found else frozenset()
    listed = len(found)
    if uncommitted:
        prefix = maildir.name + "/"
        found = [item for item in found if prefix + os.path.basename(item.path) not in uncommitted]
    found.sort(key=lambda item: item.order)
    return MaildirListing(found, listed - len(found))


def _maildir_file(path: str, name: str, info: os.stat_result) -> MaildirFile:
    unique = name.split(":", 1)[0]
    match = _MAILDIR_TIME.match(unique)
    if match is not None:
        seconds, micros = int(match[1]), int(match[2] or 0)
    else:
        # Not named by the convention: the time it was written stands in.
        seconds, micros = divmod(info.st_mtime_ns // 1000, 1_000_000)
    return MaildirFile(path, info.st_size, (seconds, micros, unique))
