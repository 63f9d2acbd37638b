"""Compaction: writes an mbox's pending deletions and read states into it, crash-safely,
while deliveries go on.

The mbox is copied into `.<entry>.compact` beside it (a dot name: readers and the store
skip it), each message as it is but those `mbox_changes` names: a deleted one is left
out, one marked read or unread gets its `Status:` rewritten (`mbox_status`). The copy
then replaces the mbox by `rename`, so a crash leaves either the old file or the new
one, whole, and the applied records of the log go stale (they name the old file).

Deliveries are held up only for the end. The bulk is copied and flushed without their
locks, up to the mbox's complete size (`read.snapshot.open_mbox`: an mbox only grows at
its end, so those bytes stay as they are). Then, under the same locks as a delivery, in
the same order (the thread lock, `flock`, `lockf`), we check that the path still names
the file we copied, that no journal names it (an unfinished or dead delivery: recovery
runs first, then the whole copy again), copy what was appended meanwhile, carry over
the log's records written since we read it, flush, rename and flush the directory. A
delivery waiting for the old file's lock finds it replaced once it gets it
(`mbox_file.OpenMailbox.is_current`) and appends to the new one.

The result says where each message went (`Placement`), so that the index can be moved
to the new file in one transaction (`sync_compacted`) instead of reading 100,000
messages again to find out.

Two compactions of one mbox never overlap: each holds the `flock` of a lock file under
`.postier/compact-locks/` from start to end. A temporary file left by a crash is
removed by the next compaction of that mbox, under that lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

from .. import fileio
from ..errors import LockTimeoutError, StoreError
from ..identity import IdAssigner, MboxKey, mbox_key
from ..journal import JOURNAL_DIR, SUFFIX, read_fd
from ..journal_record import JournalEntries
from ..locking import locked
from ..naming import MBOX_SUFFIX
from ..recovery import recover_journals
from .mbox_changes import FileIdentity, LockedLog, MboxChanges, fold, identity_of, records_after
from .mbox_status import status_seen, with_status
from .scan import StoredMessage, count_mbox, iter_mbox
from .snapshot import lock_key, open_mbox

__all__ = ["CompactResult", "Placement", "UnfinishedDeliveryError", "compact", "status_seen"]

LOCKS_DIR: Final = Path(".postier") / "compact-locks"
TEMP_SUFFIX: Final = ".compact"
_ATTEMPTS: Final = 3
_BUFFER: Final = 1 << 20
_OPEN_FLAGS: Final = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnfinishedDeliveryError(StoreError):
    """A delivery's journal still names the mbox and recovery could not settle it: try later."""


class _ReplacedError(StoreError):
    """Another tool replaced or cut the mbox while we copied it: the copy is worthless."""


class Placement(NamedTuple):
    """Where one message of the old file went."""

    id: str
    before: int
    """Its offset (of its `From ` line) in the old file."""
    after: int | None
    """Its offset in the new one; None when it was left out."""
    grown: int
    """The bytes its rewritten `Status:` added (fewer than 0: took away)."""
    seen: bool | None
    """The read state written into it, or None when it was copied as it was."""


@dataclass(frozen=True)
class CompactResult:
    """What a compaction did: the IDs it removed, those whose `Status:` it rewrote, how
    many messages the mbox holds now, and its size after. When it rewrote the file, also
    which file it replaced (`before`, as it was up to `copied`), the file that is the mbox
    now (`after`), each old message's fate in file order (`placed`), and whether some
    message would have another ID in the new file (`renumbered`: the twin before it, by
    key, was left out), which a move of the index's rows cannot express."""

    removed: tuple[str, ...]
    changed: tuple[str, ...]
    kept: int
    size: int
    # Where things went, not what was done: results compare by the fields above.
    before: FileIdentity | None = field(default=None, compare=False)
    copied: int = field(default=0, compare=False)
    after: FileIdentity | None = field(default=None, compare=False)
    placed: tuple[Placement, ...] = field(default=(), compare=False, repr=False)
    renumbered: bool = field(default=False, compare=False)


def temp_path(store_dir: Path, entry: str) -> Path:
    return store_dir / f".{entry}{TEMP_SUFFIX}"


def compact(
    store_dir: Path, entry: str, *, fsync: bool = True, lock_timeout: float = 10.0
) -> CompactResult:
    """Apply the pending changes of the mbox `entry` (`mbox_changes`) to its file.

    Raises LockTimeoutError when a lock stays busy past `lock_timeout` seconds (each),
    UnfinishedDeliveryError when a delivery's journal keeps naming the mbox; both are
    worth a retry later.
    """
    store_dir = Path(store_dir).resolve()
    if os.sep in entry or entry.startswith(".") or not entry.endswith(MBOX_SUFFIX):
        raise ValueError(f"not an mbox entry: {entry!r}")
    with _compaction_lock(store_dir, entry, lock_timeout, fsync):
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                result = _Compaction(store_dir, entry, fsync, lock_timeout).run()
            except _ReplacedError:
                if attempt == _ATTEMPTS:
                    raise
                continue
            if result is not None:
                return result
            # A journal names the mbox: settle it (it takes the mailbox's locks), then
            # copy again, since recovery may cut the file.
            recover_journals(store_dir, fsync=fsync, lock_timeout=lock_timeout)
    raise UnfinishedDeliveryError(f"{entry}: an unfinished delivery keeps it busy")


@contextmanager
def _compaction_lock(store_dir: Path, entry: str, timeout: float, fsync: bool) -> Iterator[None]:
    directory = store_dir / LOCKS_DIR
    fileio.make_private_dir(directory, fsync=fsync)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(directory / entry, flags, fileio.FILE_MODE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(f"{entry} is being compacted by another") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # not the mbox: no POSIX lock of ours on it


class _Rewriter:
    """Writes messages into the new file, left out or changed as `changes` says."""

    def __init__(self, mailbox: str, changes: MboxChanges, out: int) -> None:
        self._ids = IdAssigner(mailbox)
        self._removed_keys: set[MboxKey] = set()
        """A kept message after a removed one of the same key has another ordinal, so
        another ID, in the new file (`renumbered`)."""
        self._changes = changes
        self._out = out
        self._buffer = bytearray()
        self.removed: list[str] = []
        self.changed: list[str] = []
        self.placed: list[Placement] = []
        self.renumbered = False
        self.kept = 0
        self.written = 0

    def copy(self, fd: int, start: int, end: int) -> None:
        """Rewrite the messages between offsets `start` and `end` of `fd`."""
        before: StoredMessage | None = None
        for message in iter_mbox(fd, start, end):
            if before is not None:
                self._one(before, message.offset - before.offset)
            before = message
        if before is not None:
            self._one(before, end - before.offset)
        self.flush()

    def _one(self, message: StoredMessage, span: int) -> None:
        # What follows the message in the file up to the next one: its empty line, if any.
        trailer = span - len(message.envelope) - 1 - len(message.data)
        if trailer not in (0, 1):
            raise StoreError(f"unexpected layout at byte {message.offset}")
        key = mbox_key(message.raw)
        message_id = self._ids.assign_key(key)
        if message_id in self._changes.delete:
            self.removed.append(message_id)
            self._removed_keys.add(key)
            self.placed.append(Placement(message_id, message.offset, None, 0, None))
            return
        if key in self._removed_keys:
            self.renumbered = True
        data = message.data
        seen = self._changes.seen.get(message_id)
        if seen is not None:
            data = with_status(data, seen)
            if data != message.data:
                self.changed.append(message_id)
        grown = len(data) - len(message.data)
        self.placed.append(Placement(message_id, message.offset, self.written, grown, seen))
        written = len(message.envelope) + 1 + len(data) + trailer
        self._buffer += message.envelope + b"\n" + data + b"\n" * trailer
        self.written += written
        self.kept += 1
        if len(self._buffer) >= _BUFFER:
            self.flush()

    def flush(self) -> None:
        fileio.write_all(self._out, self._buffer)
        self._buffer.clear()


class _NewFile:
    """The file that replaces the mbox, `.<entry>.compact` until it is renamed."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self.fd = os.open(path, flags, mode)
        self.file = identity_of(os.fstat(self.fd))
        self.renamed = False

    def close(self) -> None:
        """Once renamed, it is the mbox: only under the mbox's thread lock."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        self.close()
        if not self.renamed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


class _Bulk(NamedTuple):
    """What the unlocked phase copied."""

    file: FileIdentity
    """The mbox copied."""
    copied: int
    """Up to where."""
    read_up_to: int
    """The size of the log when its records were read: what lies past it was not applied."""
    rewriter: _Rewriter
    new: _NewFile


class _Compaction:
    """One attempt; `run` returns None when a journal names the mbox."""

    def __init__(self, store_dir: Path, entry: str, fsync: bool, lock_timeout: float) -> None:
        self.store_dir = store_dir
        self.entry = entry
        self.path = store_dir / entry
        self.fsync = fsync
        self.lock_timeout = lock_timeout

    def run(self) -> CompactResult | None:
        temp = temp_path(self.store_dir, self.entry)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)  # a crashed compaction's: only the compaction lock's holder writes it
        bulk = self._copy_unlocked(temp)
        if isinstance(bulk, CompactResult):
            return bulk
        try:
            return self._finish(bulk)
        finally:
            bulk.new.discard()  # unless it became the mbox

    def _copy_unlocked(self, temp: Path) -> _Bulk | CompactResult:
        """Copy the mbox's complete messages without its locks; a result when there is
        nothing to apply."""
        with contextlib.ExitStack() as stack:
            try:
                snapshot = stack.enter_context(open_mbox(self.path, timeout=self.lock_timeout))
            except FileNotFoundError:
                with LockedLog(self.store_dir, self.entry, fsync=self.fsync, create=False) as log:
                    log.keep_only(_current(self.path))  # the records of a file gone
                return CompactResult((), (), 0, 0)
            file = identity_of(os.fstat(snapshot.fd))
            with LockedLog(self.store_dir, self.entry, fsync=self.fsync, create=False) as log:
                # Before the new file exists, which may get the inode number that stale
                # records name.
                records, read_up_to = log.keep_only(_current(self.path))
            changes = fold(record for _, record in records if record.file == file)
            if not changes:
                count = count_mbox(snapshot.fd, snapshot.size).count
                return CompactResult((), (), count, snapshot.size)
            new = _NewFile(temp, os.fstat(snapshot.fd).st_mode & 0o7777)
            try:
                rewriter = _Rewriter(self.entry.removesuffix(MBOX_SUFFIX), changes, new.fd)
                rewriter.copy(snapshot.fd, 0, snapshot.size)
                if self.fsync:
                    os.fsync(new.fd)  # the bulk, before the lock; the locked phase flushes the tail
            except BaseException:
                new.discard()
                raise
            return _Bulk(file, snapshot.size, read_up_to, rewriter, new)

    def _finish(self, bulk: _Bulk) -> CompactResult | None:
        """The locked phase: the tail, the log's new records, the rename."""
        file, copied, read_up_to, rewriter, new = bulk
        with _locked(self.path, self.lock_timeout) as fd:
            try:
                info = os.fstat(fd)
                if (
                    identity_of(info) != file
                    or _current(self.path) != file
                    or info.st_size < copied
                ):
                    raise _ReplacedError(f"{self.entry} was replaced or cut while it was compacted")
                if _journal_names(self.store_dir, self.entry):
                    return None
                rewriter.copy(fd, copied, info.st_size)
                with LockedLog(self.store_dir, self.entry, fsync=self.fsync, create=False) as log:
                    records, _ = log.read()
                    # Written while we copied: not applied, so pending for the new file.
                    late = records_after(records, read_up_to, file)
                    log.append(record.for_file(new.file) for record in late)
                    if self.fsync:
                        os.fsync(new.fd)
                    os.rename(new.path, self.path)
                    new.renamed = True
                    if self.fsync:
                        fileio.fsync_dir(self.store_dir)
                    log.keep_only(new.file)
                size = os.fstat(new.fd).st_size
            finally:
                new.close()  # the mbox now, maybe: closed under its thread lock
        removed, changed = tuple(rewriter.removed), tuple(rewriter.changed)
        return CompactResult(
            removed, changed, rewriter.kept, size, before=file, copied=info.st_size,
            after=new.file, placed=tuple(rewriter.placed), renumbered=rewriter.renumbered,
        )  # fmt: skip


def _locked(path: Path, timeout: float) -> contextlib.AbstractContextManager[int]:
    """Hold the mbox's locks as a delivery does (`locking.locked`), through a descriptor
    we can also read, known by the key the store's own mailboxes use."""
    return locked(path, timeout=timeout, key=lock_key(path), flags=_OPEN_FLAGS)


def _current(path: Path) -> FileIdentity | None:
    """The identity of the file `path` names, or None when there is none."""
    try:
        return identity_of(os.stat(path, follow_symlinks=False))
    except FileNotFoundError:
        return None


def _journal_names(store_dir: Path, entry: str) -> bool:
    """Whether a journal's record names the mbox `entry`.

    Called under the mbox's locks: no live delivery holds a record naming it then, so the
    record is a dead delivery's (complete or not). Recovery has its say before the file
    is replaced: it judges a batch by the mbox's size, which compaction changes.
    """
    directory = store_dir / JOURNAL_DIR
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return False
    for name in names:
        if not name.endswith(SUFFIX):
            continue
        try:
            fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            entries = JournalEntries.decode(read_fd(fd))
        finally:
            os.close(fd)
        if entries is not None and entry in entries.mbox_sizes:
            return True
    return False
