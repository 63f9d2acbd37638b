"""When a reader looks at the files: before each call, or once for a group of calls.

A look compares every mailbox's stamps with the index's (`sync`): a few `stat` calls a
mailbox, so 4 to 10 ms on a store of 1,000 mailboxes. A request of the HTTP API reads
several things (a page, the counts of its whole list, the tags, each row's facts); each
call looking again would pay that several times over. `one_look` makes the calls of one
thread inside it share the look made on entry. Other threads still look as they do, and
what their looks bring into the index is seen here too (one index, read afresh by each
call): the calls inside skip a look, they do not read a snapshot.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .changes import Change


class Looks:
    """The `_look` before a call, and `one_look` around several (a mixin of `Reader`)."""

    freshness: float
    _last_look: float
    _looking: threading.local
    """`.inside`: whether this thread is within `one_look` (and so has looked)."""

    if TYPE_CHECKING:

        def sync(self) -> list[Change]: ...

        def _replaced(self) -> bool: ...

    def _look(self) -> None:
        """Sync first, unless this thread is within `one_look`, or the last look is
        fresher than `freshness`."""
        if getattr(self._looking, "inside", False):
            return
        if time.monotonic() - self._last_look >= self.freshness or self._replaced():
            self.sync()

    @contextlib.contextmanager
    def one_look(self) -> Iterator[None]:
        """Look once now; the calls this thread makes inside trust that look."""
        if getattr(self._looking, "inside", False):
            yield
            return
        self._look()
        self._looking.inside = True
        try:
            yield
        finally:
            self._looking.inside = False
