"""How much of a mailbox is complete: an mbox's size taken under the server's lock, less
what unfinished deliveries wrote.

The server appends to an mbox under an exclusive `flock` and `lockf` (`store.locking`) and
keeps them until the delivery's journal is gone. A reader takes both locks shared, just
long enough to learn the size, then lets go: everything before that size is complete and,
since an mbox only grows at its end, stays as it is while the reader reads it unlocked.
A delivery whose process died leaves its journal behind and perhaps half a message at
the end; the journal's recorded size hides that part until recovery cuts it off, unless
the batch was complete (then recovery keeps it, and so do we).
A Maildir needs no lock (copies are renamed into `new/` whole), but a copy listed in a
journal is not committed yet and may still be rolled back, so it is left out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..errors import LockTimeoutError
from ..journal import JOURNAL_DIR, SUFFIX, read_fd
from ..journal_record import JournalEntries
from ..locking import thread_lock, wait_fcntl
from ..recovery import is_complete
from .errors import DamagedMailbox, MailboxBusy

DEFAULT_LOCK_TIMEOUT: Final = 10.0
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class Pending:
    """What the store's journals say is not committed (or was left by a dead delivery)."""

    mbox_sizes: dict[str, int] = field(default_factory=dict)
    """Each mbox entry name and the smallest size a journal recorded for it."""
    maildir_files: frozenset[str] = frozenset()
    """Each Maildir copy as `<entry>/<unique name>`."""


def pending(store_dir: Path) -> Pending:
    """Read every journal of the store, without locking or changing anything."""
    journal_dir = store_dir / JOURNAL_DIR
    try:
        names = os.listdir(journal_dir)
    except (FileNotFoundError, NotADirectoryError):
        return Pending()
    sizes: dict[str, int] = {}
    files: set[str] = set()
    for name in names:
        if not name.endswith(SUFFIX):
            continue
        try:
            fd = os.open(journal_dir / name, _OPEN_FLAGS)
        except OSError:
            continue  # committed meanwhile, or not ours to read
        try:
            entries = JournalEntries.decode(read_fd(fd))
            if entries is not None and _whole(fd, store_dir, entries):
                continue  # the batch is whole and stays: nothing to hide
        finally:
            os.close(fd)
        if entries is None:
            continue  # still being written: nothing appended under it yet
        for entry, size in entries.mbox_sizes.items():
            sizes[entry] = min(size, sizes.get(entry, size))
        files.update(entries.maildir_files)
    return Pending(sizes, frozenset(files))


def _whole(fd: int, store_dir: Path, entries: JournalEntries) -> bool:
    """Whether the batch of the journal open at `fd` is complete and stays: its owner
    marked it finished, or died after it was complete (recovery keeps it either way; its
    clients may have been told it was stored).

    A live owner holds the journal's `flock`: until it marks its batch finished, the
    batch may still be undone, so it stays hidden.
    """
    if entries.finished:
        return _complete_now(store_dir, entries)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    try:
        return _complete_now(store_dir, entries)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _complete_now(store_dir: Path, entries: JournalEntries) -> bool:
    sizes: dict[str, int] = {}
    for name in entries.mbox_sizes:
        with contextlib.suppress(FileNotFoundError):
            sizes[name] = os.stat(store_dir / name, follow_symlinks=False).st_size
    return is_complete(store_dir, entries, sizes)


@dataclass(frozen=True, slots=True)
class MboxSnapshot:
    """An open mbox and how many of its bytes are complete messages."""

    fd: int
    size: int


def lock_key(path: Path) -> str:
    """The key of the store's per-process thread lock for the mailbox at `path`.

    The store names its files from its resolved directory (`store.mbox`), and the key
    must be the same string for the two to exclude each other inside one process.
    """
    return os.path.join(path.parent.resolve(), path.name)


@contextmanager
def open_mbox(path: Path, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[MboxSnapshot]:
    """Open the mbox at `path` and learn its complete size under a shared lock.

    Raises FileNotFoundError when there is no such file, MailboxBusy when a writer holds
    it past `timeout` seconds, DamagedMailbox when it is not a regular file.
    """
    key = lock_key(path)
    lock = thread_lock(key)
    deadline = time.monotonic() + timeout
    # Closing any descriptor of a file drops every POSIX lock this process holds on it,
    # so our descriptor is opened and closed only under the store's thread lock, while
    # no thread of ours holds the mailbox.
    if not lock.acquire(timeout=timeout):
        raise MailboxBusy(f"mailbox {path.name} is busy; try again")
    try:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            size = _complete_size(fd, path, deadline)
        except BaseException:
            os.close(fd)
            raise
    finally:
        lock.release()
    try:
        yield MboxSnapshot(fd, size)
    finally:
        with lock:
            os.close(fd)


def _complete_size(fd: int, path: Path, deadline: float) -> int:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise DamagedMailbox(f"{path.name} is not a regular file")
    try:
        wait_fcntl(fd, path.name, deadline, shared=True)
    except LockTimeoutError:
        raise MailboxBusy(f"mailbox {path.name} stays locked by a writer; try again") from None
    try:
        size = os.fstat(fd).st_size
        # Under the lock no live delivery touches this mbox, so a journal naming it is
        # a dead one: what lies past its recorded size is half a message.
        recorded = pending(path.parent).mbox_sizes.get(path.name)
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        fcntl.flock(fd, fcntl.LOCK_UN)
    return size if recorded is None else min(size, recorded)


def file_identity(fd: int) -> tuple[int, int]:
    """The (device, inode) of an open file: tells a replaced mbox from a grown one."""
    info = os.fstat(fd)
    return info.st_dev, info.st_ino
