"""One message's rows in the index: its `messages` row and its `search` row, from what
`extract` found in it, written and read in one place."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..index.schema import SEARCH_COLUMNS
from ..index.search_sql import search_columns, tokens
from ..index.words import KnownWords
from ..query import SearchRecord
from ..tagging import plus_tags
from .extract import Extracted
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
BATCH: Final = 2000
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
        json.dumps(list(found.to), ensure_ascii=False),
        json.dumps(list(found.cc), ensure_ascii=False),
        found.subject,
        found.message_id,
        found.attachments,
        int(placed.seen),
        int(placed.hidden),
        found.snippet,
        placed.key,
        placed.rank,
        placed.delivery,
        json.dumps(list(found.tags)),
        json.dumps(plus_tags(placed.mailbox)),
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
    values = tuple(columns[name] for name in SEARCH_COLUMNS)
    if bulk is not None:
        bulk.add(row, values, tokens(columns))
        return
    cursor = conn.execute(_INSERT_MESSAGE, row)
    conn.execute(_INSERT_SEARCH, (cursor.lastrowid, *values))
    words.add(conn, tokens(columns))


class BulkRows:
    """The rows of a reindex from scratch, written a batch at a time: `executemany` for
    the `messages` and `search` rows of many messages, one `KnownWords.add` for all their
    tokens. Each message's `seq` is given here, as SQLite would give it (one past the
    largest it ever gave: the table is empty), so that its `search` row can have it too."""

    def __init__(self, conn: sqlite3.Connection, words: KnownWords, batch: int = BATCH) -> None:
        self.conn = conn
        self.words = words
        self.batch = batch
        (last,) = conn.execute(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)"
        ).fetchone()
        (largest,) = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
        self._seq = max(int(last), int(largest))
        self._messages: list[tuple[object, ...]] = []
        self._search: list[tuple[object, ...]] = []
        self._tokens: set[str] = set()

    def add(self, row: tuple[object, ...], values: tuple[str, ...], words: set[str]) -> None:
        self._seq += 1
        self._messages.append((self._seq, *row))
        self._search.append((self._seq, *values))
        self._tokens |= words
        if len(self._messages) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write what is held (before anything reads `messages`, and at the end)."""
        if self._messages:
            self.conn.executemany(_INSERT_NUMBERED, self._messages)
            self.conn.executemany(_INSERT_SEARCH, self._search)
            self._messages, self._search = [], []
        if self._tokens:
            self.words.add(self.conn, self._tokens)
            self._tokens = set()


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Remove messages from the index by rowid (their words stay: a word no message
    holds only widens a search's `MATCH`, never its answer)."""
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)
        conn.execute(f"DELETE FROM messages WHERE rowid IN ({marks})", chunk)
