"""A reindex from scratch, made cheap for SQLite: inside the reindex's one transaction (so
that a crash, or an error, leaves the old index whole and readers see the old one until
it commits), the secondary indexes of `messages` and the triggers that keep `counts`,
`deliveries` and `sharing` are dropped; the rows go in with nothing else to update; then
`counts`, `deliveries` and `sharing` are summed from `messages` in one statement each and
the indexes and triggers are made again (a sort each, rather than a B-tree insert per row
and per index, and a trigger's upserts per row).

What comes out equals what the same rows inserted one at a time give (the triggers'
sums are exactly these `GROUP BY`s), and the schema is the same statements of
`schema.TABLES`; `tests/store_read/test_reindex_bulk.py` compares every table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Final

from .schema import TABLES
from .words import clear as clear_words

CACHE_KIB: Final = 256 * 1024
"""The page cache of the reindexing connection (KiB): the tables and indexes being built
stay in memory rather than spilling to the write-ahead log as the transaction grows."""

_SEARCH_TABLE: Final = "CREATE VIRTUAL TABLE IF NOT EXISTS search"

_COUNTS: Final = """
INSERT INTO counts (entry, mailbox, messages, unread, size, newest)
SELECT entry, mailbox, count(*), sum(seen = 0), sum(size), max(received)
FROM messages WHERE hidden = 0 GROUP BY entry, mailbox
"""
_DELIVERIES: Final = """
INSERT INTO deliveries (delivery, copies, unread)
SELECT delivery, count(*), sum(seen = 0)
FROM messages WHERE hidden = 0 AND delivery != '' GROUP BY delivery
"""
_SHARING: Final = """
UPDATE sharing SET
    deliveries = (SELECT count(*) FROM deliveries WHERE copies > 1),
    copies = (SELECT coalesce(sum(copies), 0) FROM deliveries WHERE copies > 1),
    unread = (SELECT coalesce(sum(unread - (unread > 0)), 0) FROM deliveries WHERE copies > 1)
"""


def statements(script: str = TABLES) -> Iterator[str]:
    """The statements of a schema script, one at a time (`executescript` would commit)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


def _derived(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(type, name) of every trigger, and of every index that is no table's own key."""
    return conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'index') "
        "AND sql IS NOT NULL ORDER BY type DESC, name"
    ).fetchall()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Rebuild:
    """Empties the derived tables for a reindex from scratch (`begin`) and makes their
    indexes, triggers and sums again once every row is in (`end`), in the caller's write
    transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: int | None = None
        self._temp: int | None = None

    def begin(self) -> None:
        conn = self.conn
        (self._cache,) = conn.execute("PRAGMA cache_size").fetchone()
        (self._temp,) = conn.execute("PRAGMA temp_store").fetchone()
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA temp_store = MEMORY")
        for kind, name in _derived(conn):
            conn.execute(f"DROP {kind.upper()} {_quoted(name)}")
        # No trigger, no index: each is a truncation, not a deletion row by row.
        for table in ("counts", "deliveries", "messages", "mailboxes"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE sharing SET deliveries = 0, copies = 0, unread = 0")
        conn.execute("DROP TABLE search")
        conn.execute(next(s for s in statements() if s.startswith(_SEARCH_TABLE)))
        clear_words(conn)

    def end(self) -> None:
        conn = self.conn
        conn.execute(_COUNTS)
        conn.execute(_DELIVERIES)
        conn.execute(_SHARING)
        for statement in statements():
            # Every one is idempotent (`IF NOT EXISTS`, `OR IGNORE`): what is there stays.
            conn.execute(statement)
        self.restore()

    def restore(self) -> None:
        """The connection's own settings back (also after a failure)."""
        if self._cache is not None:
            self.conn.execute(f"PRAGMA cache_size = {int(self._cache)}")
        if self._temp is not None:
            self.conn.execute(f"PRAGMA temp_store = {int(self._temp)}")
        self._cache = self._temp = None
