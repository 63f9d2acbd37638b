"""Flushes many files at once, so that the file system commits them together.

One thread that fsyncs N new files in turn waits for N journal commits: on ext4, each
fsync of a file whose blocks were just allocated forces a commit of its own, a few
hundred microseconds on an idle disk and milliseconds on a busy one. The same fsyncs
issued from a few threads at once are served by one commit. Each thread flushes a share
of the files in turn; `os.fsync` releases the GIL, so the threads cost little.

The threads start on first use: a store opened before a fork is used in one process only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

DEFAULT_THREADS: Final = 4
"""Enough for the commits to overlap; more only add hand-offs."""


class ParallelFlusher:
    """fsyncs groups of files from a few threads at once."""

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def fsync_all(self, fds: Sequence[int]) -> list[OSError | None]:
        """fsync every file of `fds`; for each, in order, its error or None."""
        if len(fds) <= 1:
            return [_fsync(fd) for fd in fds]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="postier-fsync")
        shares = min(self._threads, len(fds))
        # The calling thread flushes the first share itself: one hand-off fewer.
        others = [self._pool.submit(_fsync_each, fds[start::shares]) for start in range(1, shares)]
        errors: list[OSError | None] = [None] * len(fds)
        errors[0::shares] = _fsync_each(fds[0::shares])
        for start, share in enumerate(others, start=1):
            errors[start::shares] = share.result()
        return errors

    def close(self) -> None:
        """Stop the threads. Idempotent."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _fsync(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as error:
        return error
    return None


def _fsync_each(fds: Sequence[int]) -> list[OSError | None]:
    return [_fsync(fd) for fd in fds]
