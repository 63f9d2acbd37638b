"""The durable log of deletions and read-state changes not yet written into an mbox.

An mbox is rewritten only by compaction (`mbox_compact`), which takes a while; until
then, what a reader asked for (delete this message, mark that one read) waits in
`<store>/.postier/mbox-changes/<entry>`, one JSON object a line:

    {"file": [2049, 1234567], "delete": ["qwij475lfknpyrfdp"], "seen": {"c2abc...": true}}

`file` is the (st_dev, st_ino) of the mbox the record was written against. Compaction
replaces the mbox by rename, so the records it applied name a file that is no longer
the mailbox and are stale: `pending_changes` only counts the current file's, and each
compaction drops the stale ones first, before it creates the file that replaces the
mbox (an inode number freed by the old file may be given to that one). Later records
win. Message IDs (`identity`) survive compaction, so a record written during one is
copied with the new file's identity before the rename, and stays pending.

Appends and rewrites happen under the log's `flock`, and each append is one `write` of
whole lines with `O_APPEND`, flushed before it returns. A line torn by a crash (no LF,
or not JSON) is ignored, and the next append starts on a line of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .. import fileio

CHANGES_DIR: Final = Path(".postier") / "mbox-changes"
_TEMP_SUFFIX: Final = ".rewrite"
FileIdentity = tuple[int, int]


@dataclass(frozen=True)
class MboxChanges:
    """What is pending for one mbox: IDs to delete, and IDs to mark read (True) or unread."""

    delete: frozenset[str]
    seen: Mapping[str, bool]

    def __bool__(self) -> bool:
        return bool(self.delete or self.seen)


NO_CHANGES: Final = MboxChanges(frozenset(), {})


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One line of the log."""

    file: FileIdentity
    delete: tuple[str, ...]
    seen: tuple[tuple[str, bool], ...]

    def encode(self) -> bytes:
        document = {"file": list(self.file), "delete": list(self.delete), "seen": dict(self.seen)}
        return json.dumps(document, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> ChangeRecord | None:
        """The record of one line, or None when it is torn or not one of ours."""
        try:
            document = json.loads(line)
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        file, delete, seen = document.get("file"), document.get("delete"), document.get("seen")
        if not (isinstance(file, list) and len(file) == 2 and all(type(n) is int for n in file)):
            return None
        if not isinstance(delete, list) or not all(isinstance(i, str) for i in delete):
            return None
        if not isinstance(seen, dict) or not all(type(v) is bool for v in seen.values()):
            return None
        return cls((file[0], file[1]), tuple(delete), tuple(seen.items()))

    def for_file(self, file: FileIdentity) -> ChangeRecord:
        return ChangeRecord(file, self.delete, self.seen)


def log_path(store_dir: Path, entry: str) -> Path:
    return Path(store_dir) / CHANGES_DIR / entry


def identity_of(info: os.stat_result) -> FileIdentity:
    return info.st_dev, info.st_ino


def fold(records: Iterable[ChangeRecord]) -> MboxChanges:
    """The changes of `records`, taken in order (a later read state replaces an earlier one)."""
    delete: set[str] = set()
    seen: dict[str, bool] = {}
    for record in records:
        delete.update(record.delete)
        seen.update(record.seen)
    return MboxChanges(frozenset(delete), seen)


def parse_log(data: bytes) -> list[tuple[int, ChangeRecord]]:
    """Each whole record of a log's bytes, with the offset where its line ends."""
    found: list[tuple[int, ChangeRecord]] = []
    start = 0
    while (end := data.find(b"\n", start)) >= 0:
        record = ChangeRecord.decode(data[start:end])
        if record is not None:
            found.append((end + 1, record))
        start = end + 1
    return found  # what follows the last LF is a line torn by a crash, or being written


def log_stamp_of(info: os.stat_result | None) -> str:
    """The stamp of a log (`sync_base`'s mbox stamps end with it): "-" when there is none."""
    return "-" if info is None else f"{info.st_ino}.{info.st_size}.{info.st_mtime_ns}"


@dataclass(frozen=True, slots=True)
class Logged:
    """The log's stamp just before and just after one append: nobody else wrote between
    (every writer holds the log's lock), so an index that had read the log as it was
    `before` and applies that one record has read it as it is `after`."""

    before: str
    after: str


def record_changes(
    store_dir: Path,
    entry: str,
    *,
    delete: Iterable[str] = (),
    seen: Mapping[str, bool] = {},
    fsync: bool = True,
) -> Logged | None:
    """Log, durably when `fsync`, that the messages `delete` of the mbox `entry` are to go
    and that those of `seen` are to be marked read (True) or unread (False); None when
    there was nothing to log.

    Raises FileNotFoundError when the mbox does not exist.
    """
    deleted = tuple(dict.fromkeys(delete))
    states = tuple((str(key), bool(value)) for key, value in seen.items())
    if not deleted and not states:
        return None
    store_dir = Path(store_dir)
    fileio.make_private_dir(store_dir / CHANGES_DIR, fsync=fsync)
    with LockedLog(store_dir, entry, fsync=fsync) as log:
        # Under the log's lock: a compaction renaming the mbox holds it too, so the file
        # named here is either the one it copies (the record is carried over) or its result.
        file = identity_of(os.stat(store_dir / entry, follow_symlinks=False))
        before = "-" if log.created else log.stamp()
        log.append([ChangeRecord(file, deleted, states)])
        return Logged(before, log.stamp())


def pending_changes(store_dir: Path, entry: str) -> MboxChanges:
    """The changes logged for the mbox `entry` as it is now, not yet written into it."""
    try:
        file = identity_of(os.stat(Path(store_dir) / entry, follow_symlinks=False))
        data = log_path(store_dir, entry).read_bytes()
    except FileNotFoundError:
        return NO_CHANGES
    return fold(record for _, record in parse_log(data) if record.file == file)


def entries_with_changes(store_dir: Path) -> list[str]:
    """The mbox entries that have a log of changes (pending, or left by a crash)."""
    try:
        names = os.listdir(Path(store_dir) / CHANGES_DIR)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(name for name in names if not name.startswith("."))


class LockedLog:
    """The log of one mbox, open and locked (`flock`) for as long as the block lasts.

    Created when missing. A log replaced or removed while we waited for its lock is
    opened again, so the lock held is always that of the file the path names.
    """

    def __init__(self, store_dir: Path, entry: str, *, fsync: bool, create: bool = True) -> None:
        self.path = log_path(store_dir, entry)
        self._fsync = fsync
        self._create = create
        self._fd = -1
        self._created = False
        self.created = False
        """Whether this block created the log (it did not exist before)."""

    def __enter__(self) -> LockedLog:
        while True:
            opened = self._open()
            if opened is None:
                return self  # no log, and not asked to create one
            fd, created = opened
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _names(self.path, fd):
                    self._fd, self._created, self.created = fd, created, created
                    return self
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)

    def _open(self) -> tuple[int, bool] | None:
        """The log's descriptor and whether we created it; None when it is missing and
        not to be created."""
        flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        while True:
            if self._create:
                try:
                    return os.open(
                        self.path, flags | os.O_CREAT | os.O_EXCL, fileio.FILE_MODE
                    ), True
                except FileExistsError:
                    pass
            try:
                return os.open(self.path, flags), False
            except FileNotFoundError:
                if not self._create:
                    return None
                # Removed between our two opens: create it.

    def __exit__(self, *exc: object) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def stamp(self) -> str:
        """The log's stamp as `sync_base` takes it from its path."""
        return "-" if self._fd < 0 else log_stamp_of(os.fstat(self._fd))

    def read(self) -> tuple[list[tuple[int, ChangeRecord]], int]:
        """The log's whole records (with where each ends) and its size."""
        if self._fd < 0:
            return [], 0
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, size, 0) if size else b""
        return parse_log(data), len(data)

    def append(self, records: Iterable[ChangeRecord]) -> None:
        """Add `records` at the end in one write, on a line of their own."""
        data = b"".join(record.encode() for record in records)
        if not data:
            return
        if self._fd < 0:
            raise OSError(f"{self.path.name}: the log was removed")
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # after a line torn by a crash
        fileio.write_all(self._fd, data)
        if self._fsync:
            os.fsync(self._fd)
            if self._created:
                fileio.fsync_dir(self.path.parent)
                self._created = False

    def keep_only(self, file: FileIdentity | None) -> tuple[list[tuple[int, ChangeRecord]], int]:
        """Drop every record not written against `file` (all of them when None), durably;
        return what is left as `read` does."""
        records, size = self.read()
        if self._fd < 0:
            return [], 0
        kept = [record for _, record in records if record.file == file]
        if not kept:
            os.unlink(self.path)
            if self._fsync:
                fileio.fsync_dir(self.path.parent)
            # Gone: waiters find it removed and create a new one. Nothing more is ours to do.
            os.close(self._fd)
            self._fd = -1
            return [], 0
        if len(kept) == len(records):
            return records, size
        self._replace(b"".join(record.encode() for record in kept))
        return self.read()

    def _replace(self, data: bytes) -> None:
        """Put a file holding `data` in the log's place, locked by us before anyone sees it."""
        temp = self.path.with_name(f".{self.path.name}{_TEMP_SUFFIX}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)  # left by a crash; only the holder of the log's lock writes it
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, fileio.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            fileio.write_all(fd, data)
            if self._fsync:
                os.fsync(fd)
            os.rename(temp, self.path)
            if self._fsync:
                fileio.fsync_dir(self.path.parent)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        # Waiters on the old file find it replaced, and wait for this one, which we hold.
        os.close(self._fd)
        self._fd = fd
        self._created = False


def _names(path: Path, fd: int) -> bool:
    """Whether `path` still names the file open at `fd`."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return identity_of(named) == identity_of(os.fstat(fd))


def records_after(
    records: Iterable[tuple[int, ChangeRecord]], offset: int, file: FileIdentity
) -> Iterator[ChangeRecord]:
    """The records against `file` whose lines end past `offset` (written since it was read)."""
    return (record for end, record in records if end > offset and record.file == file)
