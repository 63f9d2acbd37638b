"""Rolls back the transactions of processes that died mid-delivery, and clears stale temp files.

For each journal nobody holds: unless its batch had finished (`is_complete`: its callers
may have been told of success), truncate each mbox its record lists to its recorded size
(under the mailbox's lock) and delete each Maildir copy it lists; then remove the journal.
A journal without a record (its owner stopped between two batches) is just removed. Every
step can be done twice, so a crash during recovery is recovered by the next one.

The mailbox locks are taken before the journal's: a live owner holds its mailboxes'
locks until its record is cleared, so once we hold them the record is either cleared or
dead.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Final

from . import fileio
from .errors import LockTimeoutError
from .journal import JOURNAL_DIR, SUFFIX, read_fd
from .journal_record import JournalEntries, holds_transaction
from .locking import locked
from .maildir_layout import NEW, TMP

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT: Final = 30.0
_ATTEMPTS: Final = 3
STALE_TMP_SECONDS: Final = 36 * 3600
"""The Maildir convention: a file in `tmp/` untouched for 36 hours is garbage."""


def recover(
    store_dir: Path, *, fsync: bool = True, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> int:
    """Roll back every dead transaction and clear stale Maildir temporary files.

    Returns how many dead journals were removed.
    """
    removed = recover_journals(store_dir, fsync=fsync, lock_timeout=lock_timeout)
    _clear_stale_tmp(Path(store_dir).resolve())
    return removed


def recover_journals(
    store_dir: Path, *, fsync: bool = True, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> int:
    """Roll back every dead transaction; return how many journals were removed."""
    store_dir = Path(store_dir).resolve()
    journal_dir = store_dir / JOURNAL_DIR
    if not journal_dir.is_dir():
        return 0
    removed = 0
    for entry in sorted(os.listdir(journal_dir)):
        if entry.endswith(SUFFIX) and _recover_one(
            store_dir, journal_dir / entry, fsync, lock_timeout
        ):
            removed += 1
    return removed


def _recover_one(store_dir: Path, path: Path, fsync: bool, lock_timeout: float) -> bool:
    """Roll back the journal at `path` if its owner is dead; True when it was removed."""
    for _ in range(_ATTEMPTS):
        outcome = _attempt(store_dir, path, fsync, lock_timeout)
        if outcome is not None:
            return outcome
    return False


def _attempt(store_dir: Path, path: Path, fsync: bool, lock_timeout: float) -> bool | None:
    """One try; None when the journal was still being written while we read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    with ExitStack() as stack:
        stack.callback(os.close, fd)
        seen = JournalEntries.decode(read_fd(fd))
        mbox_fds: dict[str, int] = {}
        for name in sorted(seen.mbox_sizes if seen else ()):
            try:
                mbox_fds[name] = stack.enter_context(locked(store_dir / name, timeout=lock_timeout))
            except FileNotFoundError:
                continue  # nothing left to truncate
            except (OSError, LockTimeoutError) as error:
                log.warning(
                    "journal %s: cannot lock %s (%s); left for later", path.name, name, error
                )
                return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner lives
        if os.fstat(fd).st_nlink == 0:
            return False  # committed or recovered meanwhile
        # Read again under the lock: the mailboxes locked must be the ones it lists.
        entries = JournalEntries.decode(read_fd(fd))
        if entries != seen:
            return None
        if entries is not None:
            sizes = {name: os.fstat(fd).st_size for name, fd in mbox_fds.items()}
            if is_complete(store_dir, entries, sizes):
                if fsync:
                    _make_durable(store_dir, entries, mbox_fds)
                log.info("journal %s: a dead delivery had finished, kept", path.name)
            else:
                _roll_back(store_dir, entries, mbox_fds, fsync)
                log.warning("journal %s: a dead delivery was rolled back", path.name)
        elif not holds_transaction(read_fd(fd)):
            # Its owner stopped between two batches: nothing was under way.
            log.debug("journal %s: nothing pending, removed", path.name)
        else:
            # Incomplete: its owner died while writing it, before appending anything.
            log.info("journal %s: incomplete, removed", path.name)
        os.unlink(path)
        if fsync:
            fileio.fsync_dir(path.parent)
        return True
    return False  # not reached: ExitStack swallows nothing here, but its type says it may


def is_complete(store_dir: Path, entries: JournalEntries, mbox_sizes: Mapping[str, int]) -> bool:
    """Whether the batch of a record had finished: it is then kept, not rolled back.

    `mbox_sizes` is the size of each listed mbox that still exists. An mbox batch is
    complete once each mailbox is at least as long as the batch's ends say (in its record
    or its completion): a mailbox only reaches that size once everything planned was
    appended whole, and the file systems we run on (ext4 in its default ordered mode,
    XFS, btrfs) make a file's new size durable only with the data that fills it. A
    Maildir batch is complete once none of its copies is left in `tmp/`: each was
    flushed before it was renamed into `new/`.
    """
    if entries.mbox_sizes:
        ends = entries.mbox_ends
        if ends is None or any(size < ends[name] for name, size in mbox_sizes.items()):
            return False
    for item in entries.maildir_files:
        mailbox, _, unique = item.partition("/")
        if os.path.lexists(store_dir / mailbox / TMP / unique):
            return False
    return True


def _make_durable(store_dir: Path, entries: JournalEntries, mbox_fds: dict[str, int]) -> None:
    """Flush a batch kept as complete before its record goes: its owner may have died
    before its own flush returned, so that the batch is whole in the page cache only, and
    a crash once the record is gone would leave it torn, with nothing left to undo it."""
    for fd in mbox_fds.values():
        os.fsync(fd)
    for directory in sorted(
        {store_dir / item.partition("/")[0] / NEW for item in entries.maildir_files}
    ):
        with contextlib.suppress(FileNotFoundError):
            fileio.fsync_dir(directory)


def _roll_back(
    store_dir: Path, entries: JournalEntries, mbox_fds: dict[str, int], fsync: bool
) -> None:
    for name, fd in mbox_fds.items():
        size = entries.mbox_sizes[name]
        # Never extend: a file already shorter was cut by someone else.
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
            if fsync:
                os.fsync(fd)
    touched: set[Path] = set()
    for item in entries.maildir_files:
        mailbox, _, unique = item.partition("/")
        for sub in (TMP, NEW):
            directory = store_dir / mailbox / sub
            try:
                os.unlink(directory / unique)
            except FileNotFoundError:
                continue
            touched.add(directory)
    if fsync:
        for directory in sorted(touched):
            fileio.fsync_dir(directory)


def _clear_stale_tmp(store_dir: Path) -> None:
    """Remove files older than 36 hours from each Maildir's `tmp/`, and nothing else."""
    limit = time.time() - STALE_TMP_SECONDS
    with os.scandir(store_dir) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            tmp = Path(entry.path) / TMP
            if not tmp.is_dir() or tmp.is_symlink():
                continue
            with os.scandir(tmp) as files:
                for item in files:
                    if (
                        item.is_file(follow_symlinks=False)
                        and item.stat(follow_symlinks=False).st_mtime < limit
                    ):
                        os.unlink(item.path)
