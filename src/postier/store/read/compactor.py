"""Compacts mboxes in a thread of its own, a little after their changes were logged.

Marking messages read or deleting them only appends to a log (`mbox_changes`); the
compactor writes them into the mbox later (`mbox_compact`), off the caller's path, once
per burst of requests: a request for an mbox already waiting adds nothing. A busy mbox
(a lock held past the limit, a delivery's journal not settled yet) is tried again
later; any other failure is logged and the log stays, to be applied at the next
request or the next start, which requests every mbox with a log left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import LockTimeoutError
from .mbox_changes import entries_with_changes
from .mbox_compact import CompactResult, UnfinishedDeliveryError, compact

log = logging.getLogger("postier.store")

OnDone = Callable[[str, CompactResult], None]


class BackgroundCompactor:
    """A daemon thread that runs `compact` for the entries requested of it."""

    def __init__(
        self,
        store_dir: Path | str,
        *,
        delay: float = 1.0,
        retry_delay: float = 5.0,
        fsync: bool = True,
        lock_timeout: float = 10.0,
        on_done: OnDone | None = None,
    ) -> None:
        self._store_dir = Path(store_dir)
        self._delay = delay
        self._retry_delay = retry_delay
        self._fsync = fsync
        self._lock_timeout = lock_timeout
        self._on_done = on_done
        self._due: dict[str, float] = {}
        """Each entry waiting, and when it is due (`time.monotonic`)."""
        self._running: str | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="postier-compactor", daemon=True)
        for entry in entries_with_changes(self._store_dir):
            self._due[entry] = time.monotonic()  # left by a crash or by the last run
        self._thread.start()

    def request(self, entry: str) -> None:
        """Compact `entry` in `delay` seconds, or sooner if it was requested already."""
        with self._changed:
            if self._closing:
                raise RuntimeError("the compactor is closed")
            self._due.setdefault(entry, time.monotonic() + self._delay)
            self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Compact everything requested now, without waiting for its delay; True once
        done, False when `timeout` seconds passed first (a busy mbox is still retried)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            now = time.monotonic()
            for entry, due in self._due.items():
                self._due[entry] = min(due, now)
            self._changed.notify_all()
            while self._due or self._running is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self, timeout: float | None = None) -> None:
        """Finish what was requested (each busy mbox is tried once more, then left to its
        log), and stop the thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundCompactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            entry = self._next()
            if entry is None:
                return
            retry = self._compact(entry)
            with self._changed:
                self._running = None
                if retry and not self._closing:
                    due = time.monotonic() + self._retry_delay
                    self._due[entry] = min(self._due.get(entry, due), due)
                self._changed.notify_all()

    def _next(self) -> str | None:
        """Wait for the next entry due, and mark it running; None once closed and done."""
        with self._changed:
            while True:
                if self._due:
                    entry, due = min(self._due.items(), key=lambda item: item[1])
                    wait = 0.0 if self._closing else due - time.monotonic()
                    if wait <= 0:
                        del self._due[entry]
                        self._running = entry
                        return entry
                elif self._closing:
                    return None
                else:
                    wait = None
                self._changed.wait(wait)

    def _compact(self, entry: str) -> bool:
        """Compact `entry`; True when it was busy and is worth another try."""
        try:
            result = compact(
                self._store_dir, entry, fsync=self._fsync, lock_timeout=self._lock_timeout
            )
        except (LockTimeoutError, UnfinishedDeliveryError) as error:
            log.info("mbox %s: compaction put off: %s", entry, error)
            return True
        except Exception:
            log.exception("mbox %s: compaction failed", entry)
            return False
        if self._on_done is not None:
            try:
                self._on_done(entry, result)
            except Exception:
                log.exception("mbox %s: compaction callback failed", entry)
        return False
