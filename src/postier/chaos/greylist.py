"""Greylisting's memory: when each (client IP, sender, recipient) was first seen.

A real greylist (Postgrey, Postfix's policy servers) puts off the first attempt of a
triple with a 4xx and takes it once the client retries after the delay: a mail server
retries (RFC 5321 §4.5.4.1), most spam cannons do not. An attempt too early is put off
again, its first sighting unchanged. The memory holds at most `capacity` triples, the
least recently seen forgotten first, so a flood of new triples cannot grow it without
bound; the clock is given, so tests need not wait.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

Triple = tuple[str, str, str]

CAPACITY: Final = 100_000
"""Triples remembered (about 20 MB at most): far more than one test run makes."""


class Greylist:
    """Which triples have waited long enough."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, capacity: int = CAPACITY
    ) -> None:
        self._clock = clock
        self._capacity = capacity
        self._first_seen: OrderedDict[Triple, float] = OrderedDict()

    def wait(self, triple: Triple, delay: float) -> float:
        """Seconds `triple` must still wait (0: accept it now); the first attempt starts
        its clock."""
        now = self._clock()
        first = self._first_seen.get(triple)
        if first is None:
            self._first_seen[triple] = now
            if len(self._first_seen) > self._capacity:
                self._first_seen.popitem(last=False)
            return delay
        self._first_seen.move_to_end(triple)
        return max(0.0, first + delay - now)

    def __len__(self) -> int:
        return len(self._first_seen)

    def clear(self) -> None:
        self._first_seen.clear()
