"""Follows a store and reports each message filed after it started, through the index.

Each poll brings the index up to date with the files (`Reader.sync`: a few `stat` calls a
mailbox when nothing changed) and asks it what was indexed since the last poll. The index
may have been updated by someone else in between (a server's indexer, another reader), so
what is new is told by the index's row numbers, which only grow, and by the IDs already
reported; a message is reported once, whatever updated the index and however often it was
rebuilt. Works with any number of servers writing, and with a store that does not exist yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .reader import Reader
from .results import MessageSummary

DEFAULT_INTERVAL = 0.5


class Watcher:
    """Remembers what the store held at the start; `poll` returns what came since."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.errors: list[str] = []
        """Problems met by the last poll, one line each (a mailbox skipped until it mends)."""
        self._sync()
        self._reported = reader.all_ids()
        self._last = reader.last_seq()

    def _sync(self) -> None:
        self.reader.sync()
        self.errors = list(self.reader.errors)

    def poll(self) -> list[MessageSummary]:
        """The messages filed since the previous poll, in the order they were received, each
        with its number in its mailbox."""
        self._sync()
        arrivals = []
        for seq, summary in self.reader.indexed_since(self._last):
            self._last = max(self._last, seq)
            if summary.id in self._reported:
                continue  # the index was rebuilt, or re-read a mailbox: not new
            self._reported.add(summary.id)
            arrivals.append(summary)
        # Numbered as `read` counts, once the index holds them all.
        return [self.reader.message(summary.id).summary for summary in arrivals]


def follow(
    reader: Reader,
    on_arrival: Callable[[MessageSummary], None],
    *,
    interval: float = DEFAULT_INTERVAL,
    count: int | None = None,
    timeout: float | None = None,
    on_error: Callable[[str], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Report each new message to `on_arrival` (with its number in its mailbox) until
    `count` were seen or `timeout` seconds passed (forever when both are None); return
    how many were seen.

    A problem with one mailbox goes to `on_error` once, and the watch goes on.
    `on_ready` is called once what the store already holds is known: every message
    filed from then on is reported.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    watcher = Watcher(reader)
    if on_ready is not None:
        on_ready()
    reported: set[str] = set()
    seen = 0
    while True:
        for arrival in watcher.poll():
            on_arrival(arrival)
            seen += 1
            if count is not None and seen >= count:
                return seen
        for error in watcher.errors:
            if on_error is not None and error not in reported:
                on_error(error)
            reported.add(error)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return seen
            sleep(min(interval, left))
        else:
            sleep(interval)
