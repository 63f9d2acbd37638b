"""One message's rows in the index: its `messages` row and its `search` row, from what
`extract` found in it, written and read in one place."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from typing import Final

from ..index.schema import SEARCH_COLUMNS
from ..index.search_sql import search_columns, tokens
from ..index.words import KnownWords
from ..query import SearchRecord
from ..tagging import plus_tags
from .extract import Extracted, extract
from .results import to_micros

MAX_TEXT: Final = 1 << 20
"""Characters of a message's text that are searched: a message of megabytes of text is
searched in its first mebibyte (its subject and addresses always)."""

_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, entry, mailbox, position, location, length, received, size, "
    "date, sender, from_address, recipients, cc, subject, message_id, attachments, seen, "
    "hidden, snippet, key, rank, delivery, header_tags, plus_tags) VALUES (?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_NUMBERED: Final = _INSERT_MESSAGE.replace("(id, ", "(seq, id, ").replace(
    "VALUES (?, ", "VALUES (?, ?, "
)
BATCH: Final = 500
"""Messages a reindex from scratch holds before it writes them (`BulkRows`)."""
_INSERT_SEARCH: Final = (
    f"INSERT INTO search (rowid, {', '.join(SEARCH_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in SEARCH_COLUMNS)})"
)


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a copy is and what it is, apart from its content."""

    id: str
    entry: str
    mailbox: str
    """The mailbox's address."""
    position: int
    location: str
    length: int
    received: datetime
    size: int
    seen: bool
    hidden: bool
    key: str
    rank: int
    delivery: str = ""
    """The ID of the delivery it is a copy of (`identity.delivery_id`); '' when postier
    did not file it."""


Row = tuple[object, ...]
Prepared = tuple[Row, tuple[str, ...], set[str]]
"""A message's `messages` row (without `seq`), its `search` values and its tokens."""


def _json_list(items: Sequence[str], *, ascii_only: bool = False) -> str:
    """A column's JSON list (most messages have no Cc and no tags: no encoder for those)."""
    return json.dumps(list(items), ensure_ascii=ascii_only) if items else "[]"


@functools.lru_cache(maxsize=4096)
def _plus_tags_json(mailbox: str) -> str:
    """The `plus_tags` column of a mailbox's messages: the same for all of them."""
    return json.dumps(plus_tags(mailbox))


def prepared(placed: Placed, found: Extracted) -> Prepared:
    """What `insert` writes of a message: its rows' values and the tokens of its words."""
    row = (
        placed.id,
        placed.entry,
        placed.mailbox,
        placed.position,
        placed.location,
        placed.length,
        to_micros(placed.received),
        placed.size,
        None if found.date is None else to_micros(found.date),
        found.sender,
        found.from_address,
        _json_list(found.to),
        _json_list(found.cc),
        found.subject,
        found.message_id,
        found.attachments,
        int(placed.seen),
        int(placed.hidden),
        found.snippet,
        placed.key,
        placed.rank,
        placed.delivery,
        _json_list(found.tags, ascii_only=True),
        _plus_tags_json(placed.mailbox),
    )
    record = SearchRecord(
        mailbox=placed.mailbox,
        sender=found.sender,
        to=found.to,
        cc=found.cc,
        subject=found.subject,
        message_id=found.message_id,
        text=found.text[:MAX_TEXT],
        received=placed.received,
        size=placed.size,
        attachments=found.attachments,
        read=placed.seen,
    )
    columns = search_columns(record)
    return row, tuple(columns[name] for name in SEARCH_COLUMNS), tokens(columns)


def insert(
    conn: sqlite3.Connection,
    placed: Placed,
    found: Extracted,
    words: KnownWords,
    bulk: BulkRows | None = None,
) -> None:
    """Add a message to the index (its ID must not be there yet); `words`: what the
    `words` table is known to hold already; `bulk`: a reindex from scratch's batches, which
    hold the rows until they are written many at once."""
    row, values, found_tokens = prepared(placed, found)
    if bulk is not None:
        bulk.add(row, values, found_tokens)
        return
    cursor = conn.execute(_INSERT_MESSAGE, row)
    conn.execute(_INSERT_SEARCH, (cursor.lastrowid, *values))
    words.add(conn, found_tokens)


Batch = tuple[list[Row], list[Row], set[str]]
"""Numbered `messages` rows, `search` rows, and the tokens of their words."""


def prepare_batch(items: list[tuple[int, Placed, bytes]]) -> Batch:
    """In a worker process: each message (`seq`, where and what it is, its bytes whole)
    extracted and made into its rows, as `insert` would."""
    messages: list[Row] = []
    search: list[Row] = []
    words: set[str] = set()
    for seq, placed, raw in items:
        row, values, found_tokens = prepared(placed, extract(raw))
        messages.append((seq, *row))
        search.append((seq, *values))
        words |= found_tokens
    return messages, search, words


def _watch_parent(lifeline: int, held: int) -> None:
    """In a worker, first: leave as soon as the reindexing process is gone (killed, say),
    rather than wait for work forever. Its pipe ends then (each worker closes the end it
    was forked with, so the parent's is the only one)."""
    os.close(held)

    def watch() -> None:
        with contextlib.suppress(OSError):
            os.read(lifeline, 1)
        os._exit(1)

    threading.Thread(target=watch, name="postier-lifeline", daemon=True).start()


class BulkRows:
    """The rows of a reindex from scratch, written a batch at a time: `executemany` for
    the `messages` and `search` rows of many messages, one `KnownWords.add` for all their
    tokens. Each message's `seq` is given here, as SQLite would give it (one past the
    largest it ever gave: the table is empty), so that its `search` row can have it too.

    With `workers`, the messages given whole (`add_raw`) are extracted in that many other
    processes (forked at the second batch, so that a small store never waits for them, and
    only by a process of one thread, as `postier reindex` is), while this one reads the
    files and writes the rows; their rows are the same (`prepare_batch` runs `insert`'s
    own code) and are written in the order given."""

    def __init__(
        self, conn: sqlite3.Connection, words: KnownWords, batch: int = BATCH, workers: int = 0
    ) -> None:
        self.conn = conn
        self.words = words
        self.batch = batch
        self.workers = workers
        (last,) = conn.execute(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)"
        ).fetchone()
        (largest,) = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
        self._seq = max(int(last), int(largest))
        self._messages: list[Row] = []
        self._search: list[Row] = []
        self._tokens: set[str] = set()
        self._raw: list[tuple[int, Placed, bytes]] = []
        self._batches = 0
        self._pool: ProcessPoolExecutor | None = None
        self._running: deque[Future[Batch]] = deque()
        self._lifeline: tuple[int, ...] = ()
        """A pipe only this process writes to: its workers see it end when it does."""
        self.extracted_elsewhere = 0
        """How many messages the workers extracted."""

    def add(self, row: Row, values: tuple[str, ...], words: set[str]) -> None:
        self._seq += 1
        self._messages.append((self._seq, *row))
        self._search.append((self._seq, *values))
        self._tokens |= words
        if len(self._messages) >= self.batch:
            self._write(self._messages, self._search, self._tokens)
            self._messages, self._search, self._tokens = [], [], set()

    @property
    def pooled(self) -> bool:
        """Whether workers were started (then the process's other threads are theirs)."""
        return self._pool is not None

    def add_raw(self, placed: Placed, raw: bytes) -> None:
        """A message to extract (all its bytes): in a worker when there are any."""
        if not self.workers:
            self.add(*prepared(placed, extract(raw)))
            return
        self._seq += 1
        self._raw.append((self._seq, placed, raw))
        if len(self._raw) >= self.batch:
            self._submit()

    def _submit(self) -> None:
        items, self._raw = self._raw, []
        self._batches += 1
        if self._batches == 1:
            self._write(*prepare_batch(items))
            return
        if self._pool is None:
            if threading.active_count() > 1:
                # Forked, a thread's locks would stay held in the child: done here instead.
                self.workers = 0
                self._write(*prepare_batch(items))
                return
            # Forked, not spawned: a child runs no `__main__` again (a script unguarded by
            # `if __name__ == "__main__"` would run itself in each). It never touches the
            # parent's SQLite connection, and leaves with `os._exit`, closing nothing of it.
            self._lifeline = os.pipe()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("fork"),
                initializer=_watch_parent,
                initargs=self._lifeline,
            )
        self._running.append(self._pool.submit(prepare_batch, items))
        self.extracted_elsewhere += len(items)
        # A batch for each worker and one more, at most: reading stays a little ahead of
        # writing, never a whole mailbox (its progress, and its memory, follow the index).
        while len(self._running) > self.workers:
            self._write(*self._running.popleft().result())

    def _write(self, messages: list[Row], search: list[Row], words: set[str]) -> None:
        if messages:
            self.conn.executemany(_INSERT_NUMBERED, messages)
            self.conn.executemany(_INSERT_SEARCH, search)
        if words:
            self.words.add(self.conn, words)

    def flush(self) -> None:
        """Write everything held (before anything reads `messages`, and at the end)."""
        if self._raw:
            self._submit()
        while self._running:
            self._write(*self._running.popleft().result())
        self._write(self._messages, self._search, self._tokens)
        self._messages, self._search, self._tokens = [], [], set()

    def close(self) -> None:
        """Stop the workers (after `flush`, or after a failure: what they hold is dropped)."""
        for future in self._running:
            future.cancel()
        self._running.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for fd in self._lifeline:
            os.close(fd)
        self._lifeline = ()


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Remove messages from the index by rowid (their words stay: a word no message
    holds only widens a search's `MATCH`, never its answer)."""
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)
        conn.execute(f"DELETE FROM messages WHERE rowid IN ({marks})", chunk)


MAX_WORKERS: Final = 4


def reindex_workers() -> int:
    """As many processes extracting messages as the machine has processors (at most
    `MAX_WORKERS`); this one reads the files and writes the index meanwhile. One processor:
    none, the reindex runs in this process alone."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = count or 1
    return 0 if count < 2 else min(count, MAX_WORKERS)
