"""Keeps a server's index up to date with what it delivers, off the path to the 250.

The store thread tells the indexer which mailboxes a batch wrote to once the batch's
clients have their answer; the indexer's own thread waits a moment for more (a busy
server indexes many batches at once), then syncs those mailboxes. A delivery therefore
never waits for the index and never fails because of it: an error here is logged, and
the next look (of this indexer or of any reader) catches up from the files.

Where the syncing is done is the `Rounds`' business: in this process by default (the
reader itself), or in a process of its own (`postier.server.index_process`), so that a
busy server's interpreter is not shared between answering clients and indexing them.
Either way the changes a round finds are announced to this process's reader's
subscribers (the web page's live events, `watch`), as a sync here would announce them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Final, Protocol

from ..naming import StoreFormat, mailbox_file_name
from .reader import Reader

log = logging.getLogger("postier.store")

DEFAULT_DELAY: Final = 0.05
"""Seconds the indexer waits after a batch for the next ones, to index them together."""


class Level(Protocol):
    """A gauge raised and lowered (`prometheus_client.Gauge`'s two methods)."""

    def inc(self, amount: float = 1) -> None: ...

    def dec(self, amount: float = 1) -> None: ...


class Rounds(Protocol):
    """What brings the index up to date with some mailboxes (all of them: None) and
    announces what changed to the reader's subscribers; `close` stops what it runs."""

    def sync(self, only: set[str] | None) -> None: ...

    def close(self) -> None: ...


class HereRounds:
    """Rounds run by the reader in this process, on the indexer's thread."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def sync(self, only: set[str] | None) -> None:
        self.reader.sync(only)

    def close(self) -> None:
        pass


class Indexer:
    """A thread that syncs the mailboxes deliveries wrote to, soon after they did."""

    def __init__(
        self,
        reader: Reader,
        fmt: StoreFormat,
        *,
        delay: float = DEFAULT_DELAY,
        lag: Level | None = None,
        rounds: Rounds | None = None,
    ) -> None:
        self.reader = reader
        self.rounds: Rounds = HereRounds(reader) if rounds is None else rounds
        self._lag = lag
        """Raised by the copies each batch stored, lowered once they are indexed."""
        self._unindexed = 0
        self._format: StoreFormat = fmt
        self._delay = delay
        self._touched: set[str] = set()
        self._everything = True
        """Sync every mailbox at the next round (the first: catch up with the files)."""
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._idle = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="postier-index", daemon=True)
        self._wakeup.set()
        self._thread.start()

    def delivered(self, recipients: Iterable[str]) -> None:
        """Called by the store thread after a batch: cheap, never raises."""
        entries = []
        for address in recipients:
            try:
                entries.append(mailbox_file_name(address, self._format))
            except ValueError:
                continue
        with self._lock:
            self._touched.update(entries)
            self._unindexed += len(entries)
            self._idle.clear()
        if self._lag is not None:
            self._lag.inc(len(entries))
        self._wakeup.set()

    def look(self) -> None:
        """Ask for a look at every mailbox soon (what other processes and tools changed
        is then announced too); returns at once."""
        with self._lock:
            self._everything = True
        self._wakeup.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything delivered so far is indexed (for tests and shutdown)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Index what is left, then stop."""
        self._closing = True
        self._wakeup.set()
        self._thread.join()
        self.rounds.close()

    def _run(self) -> None:
        behind = False
        """The last round ended with more to do: deliveries came while it ran."""
        while True:
            self._wakeup.wait()
            if not self._closing and not behind:
                # More batches come while we wait: they are indexed in the same round.
                # A round that follows a busy one has waited long enough: what came
                # while it ran is its batch.
                threading.Event().wait(self._delay)
            self._wakeup.clear()
            with self._lock:
                touched, self._touched = self._touched, set()
                everything, self._everything = self._everything, False
                taken, self._unindexed = self._unindexed, 0
            if touched or everything:
                self._sync(None if everything else touched)
            if taken and self._lag is not None:
                self._lag.dec(taken)
            with self._lock:
                behind = bool(self._touched)
                if not behind:
                    self._idle.set()
            if self._closing:
                return

    def _sync(self, entries: set[str] | None) -> None:
        try:
            self.rounds.sync(entries)
        except Exception as error:
            log.warning("the index could not be updated (%s); it catches up later", error)
