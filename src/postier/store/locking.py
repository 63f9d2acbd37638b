"""Exclusive locks on mailbox files, respected by other processes and by our own threads.

A mailbox is locked three ways at once:
- `fcntl.lockf`, a POSIX record lock: what Python's `mailbox`, mutt and procmail take;
- `fcntl.flock`: what other tools (and `flock(1)`) take;
- a `threading.Lock` per path, because POSIX record locks belong to the process and do not
  keep two threads of one process apart.

Beware that closing any descriptor of a file drops the process's POSIX record locks on
it, even one taken through another descriptor. So a descriptor of a mailbox is only ever
closed by a thread that holds that mailbox's thread lock.

Both fcntl locks are tried without blocking and, when either is busy, both are dropped
and tried again a little later: a process that takes the two in the other order cannot
deadlock with us, and the caller's time limit holds.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from .errors import LockTimeoutError

# The usual holder is another server process (`--workers`) storing a batch, which takes
# about a millisecond: a waiter that slept 50 ms (the old longest pause) let the mailbox
# idle most of the time, and two workers on one mailbox stored less than one alone.
# Short pauses cost a few hundred wake-ups a second, and only while the lock is busy.
_FIRST_PAUSE: Final = 0.0002
_LONGEST_PAUSE: Final = 0.002

_guard = threading.Lock()
_thread_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()


def thread_lock(path: str) -> threading.Lock:
    """The one thread lock of this process for the file at `path` (an absolute path)."""
    with _guard:
        lock = _thread_locks.get(path)
        if lock is None:
            lock = threading.Lock()
            _thread_locks[path] = lock
        return lock


def _try_fcntl(fd: int, mode: int) -> bool:
    """Take both fcntl locks in `mode` (LOCK_EX or LOCK_SH) without waiting; True when
    both are ours."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    try:
        fcntl.lockf(fd, mode | fcntl.LOCK_NB)
    except OSError as error:
        fcntl.flock(fd, fcntl.LOCK_UN)
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def wait_fcntl(fd: int, path: str, deadline: float, *, shared: bool = False) -> None:
    """Take both fcntl locks on `fd`, polling until `deadline` (a `time.monotonic()` value).

    Exclusive for writers; `shared` for readers, who only keep writers out. Polling
    for both, rather than blocking on one, means that whoever takes the two in the
    other order cannot deadlock with us.
    """
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    pause = _FIRST_PAUSE
    while not _try_fcntl(fd, mode):
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockTimeoutError(f"{path} is locked by another process")
        time.sleep(min(pause, left))
        pause = min(pause * 2, _LONGEST_PAUSE)


def _take(lock: threading.Lock, path: str, deadline: float) -> None:
    if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise LockTimeoutError(f"{path} is locked by another thread")


class FileLock:
    """The exclusive lock on one file, taken through the descriptor `fd` of `path`.

    Holding the object keeps the path's thread lock alive; the registry only holds it
    weakly, so the locks of mailboxes nobody uses go away.
    """

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self._thread_lock = thread_lock(path)

    def acquire(self, deadline: float) -> None:
        """Wait for the lock until `deadline` (a `time.monotonic()` value)."""
        _take(self._thread_lock, self.path, deadline)
        try:
            wait_fcntl(self.fd, self.path, deadline)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self, *, close_fd: bool = False) -> None:
        """Unlock; with `close_fd`, close the descriptor too (closing drops both fcntl
        locks) while the thread lock is still held."""
        try:
            if close_fd:
                os.close(self.fd)
            else:
                fcntl.lockf(self.fd, fcntl.LOCK_UN)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def try_close(self) -> bool:
        """Close the descriptor unless some thread holds the lock; True when closed."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            os.close(self.fd)
        finally:
            self._thread_lock.release()
        return True


@contextmanager
def locked(
    path: Path,
    *,
    timeout: float,
    key: str | None = None,
    flags: int = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
) -> Iterator[int]:
    """Open the existing file at `path` for writing and hold its lock; yields the fd.

    `key`: the path the thread lock is known by and the file is opened at (the absolute
    path unless given); `flags`: how it is opened. Raises FileNotFoundError when there is
    no such file and LockTimeoutError when it stays locked longer than `timeout` seconds.
    """
    key = os.path.abspath(path) if key is None else key
    deadline = time.monotonic() + timeout
    lock = thread_lock(key)
    # The thread lock comes first: our descriptor may only be closed under it.
    _take(lock, key, deadline)
    try:
        fd = os.open(key, flags)
        try:
            wait_fcntl(fd, key, deadline)
            yield fd
        finally:
            os.close(fd)  # drops both fcntl locks
    finally:
        lock.release()
