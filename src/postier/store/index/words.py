"""The words a process knows the `words` table holds, so that indexing a message inserts
only the tokens that are new to the index rather than every token of it.

Nearly every token of a message is already in `words` (a mailbox's messages share their
vocabulary), and asking SQLite for each one (`INSERT OR IGNORE`, a few microseconds a row)
was most of the cost of indexing a message: a set difference in memory is a hundred
times cheaper. The set must never claim a word the table lacks, or a search would miss
the messages holding it:

- `words` only ever loses words when a reindex empties it, and a reindex (in any process)
  gives `meta.words_epoch` a new random value in the same transaction (`clear`): a set of another
  epoch is dropped before it is used;
- words join the set only once their transaction commits (`committed`); a transaction
  rolled back drops what it added (`rolled_back`);
- the words a transaction added get their trigrams (`words_trigrams`) in one statement
  before it commits (`before_commit`): ten times cheaper than a row at a time;
- the set holds at most `LIMIT` words and starts afresh past it (unique tokens such as
  Message-IDs never recur, so a full set is mostly dead weight).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterable
from typing import Final

LIMIT: Final = 500_000
"""Words kept in memory at most (some tens of megabytes)."""
EPOCH_KEY: Final = "words_epoch"
_INSERT: Final = "INSERT OR IGNORE INTO words(word) VALUES (?)"


def clear(conn: sqlite3.Connection) -> None:
    """Empty `words` and its trigrams (a reindex: inside its transaction), under a new
    epoch, so that every process's set of known words is dropped."""
    conn.execute("INSERT INTO words_trigrams(words_trigrams) VALUES ('delete-all')")
    conn.execute("DELETE FROM words")
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (EPOCH_KEY, secrets.token_hex(8))
    )


class KnownWords:
    """A process's set of the words `words` holds, shared by its writers (one at a time)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._words: set[str] = set()
        self._pending: set[str] = set()
        self._epoch: str | None = None
        self._since: int | None = None
        """The largest word ID before the open transaction added words (None: none)."""
        self._lock = threading.Lock()

    def add(self, conn: sqlite3.Connection, tokens: Iterable[str]) -> None:
        """Insert into `words`, inside the caller's write transaction, those of `tokens`
        it may not hold yet."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (EPOCH_KEY,)).fetchone()
        epoch = None if row is None else str(row[0])
        with self._lock:
            if epoch is None or epoch != self._epoch:
                self._words.clear()
                self._epoch = epoch
            new = set(tokens) - self._words - self._pending
        if new:
            if self._since is None:
                (self._since,) = conn.execute("SELECT coalesce(max(id), 0) FROM words").fetchone()
            conn.executemany(_INSERT, ((token,) for token in new))
            with self._lock:
                self._pending |= new

    def before_commit(self, conn: sqlite3.Connection) -> None:
        """Index the trigrams of the words the open transaction added (IDs only grow
        while it holds the write lock)."""
        if self._since is not None:
            conn.execute(
                "INSERT INTO words_trigrams(rowid, word) SELECT id, word FROM words WHERE id > ?",
                (self._since,),
            )
            self._since = None

    def committed(self) -> None:
        """The transaction that inserted the pending words committed: they are known."""
        with self._lock:
            if self._epoch is None:
                self._pending.clear()
                return
            if len(self._words) + len(self._pending) > self._limit:
                self._words.clear()
            self._words |= self._pending
            self._pending.clear()

    def rolled_back(self) -> None:
        """The transaction was rolled back: what it inserted is not in the table."""
        with self._lock:
            self._pending.clear()
            self._since = None
