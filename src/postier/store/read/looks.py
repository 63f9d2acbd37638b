"""When a reader looks at the files: before each call, or once for a group of calls.

A look compares every mailbox's stamps with the index's (`sync`): a few `stat` calls a
mailbox, so 4 to 10 ms on a store of 1,000 mailboxes. What reads one mailbox alone (its
list) looks at that mailbox alone. A request of the HTTP API reads
several things (a page, the counts of its whole list, the tags, each row's facts); each
call looking again would pay that several times over. `one_look` makes the calls of one
thread inside it share the look made on entry. Other threads still look as they do, and
what their looks bring into the index is seen here too (one index, read afresh by each
call): the calls inside skip a look, they do not read a snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..index.database import IndexDatabase, IndexUnavailableError
from .changes import Change
from .lookup import mailbox_entries


class Looks:
    """The `_look` before a call, and `one_look` around several (a mixin of `Reader`)."""

    freshness: float
    _last_look: float
    _looking: threading.local
    """`.inside`: whether this thread is within `one_look` (and so has looked)."""

    db: IndexDatabase
    root: Path

    if TYPE_CHECKING:

        def sync(self, only: Iterable[str] | None = None) -> list[Change]: ...

        def _replaced(self) -> bool: ...

    def _look(self, only: Iterable[str] | None = None) -> None:
        """Sync first (the entries `only`, when what is asked reads no other file),
        unless this thread is within `one_look`, or the last look is fresher than
        `freshness`."""
        if getattr(self._looking, "inside", False):
            return
        if time.monotonic() - self._last_look >= self.freshness or self._replaced():
            self.sync(only)

    def _look_at(self, mailbox: str | None) -> None:
        """The look before a list of `mailbox` alone (of all mail: None)."""
        entries = None
        if (
            mailbox is not None
            and not getattr(self._looking, "inside", False)
            and self.root.is_dir()
        ):
            try:
                with self.db.reading() as conn:
                    entries = mailbox_entries(conn, mailbox)
            except (sqlite3.Error, IndexUnavailableError):
                entries = None  # a whole look mends the index, or says why it cannot
        self._look(entries)

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
