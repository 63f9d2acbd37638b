"""`KnownWords` never claims a word the `words` table lacks: not after a reindex in another
connection (a new epoch), not after a rolled-back transaction, not past its limit; and it
spares the table the words it knows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.store.index.database import IndexDatabase
from postier.store.index.words import KnownWords, clear


@pytest.fixture
def db(tmp_path: Path) -> Iterator[IndexDatabase]:
    database = IndexDatabase(tmp_path)
    yield database
    database.close()


def _words(conn: sqlite3.Connection) -> set[str]:
    return {word for (word,) in conn.execute("SELECT word FROM words")}


def _statements(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_known_words_are_not_inserted_again(db: IndexDatabase) -> None:
    with db.writing() as conn:
        db.known_words.add(conn, {"alpha", "beta"})
    with db.writing() as conn:
        seen = _statements(conn)
        db.known_words.add(conn, {"alpha", "beta"})
        conn.set_trace_callback(None)
        assert not [s for s in seen if "INTO words" in s]
        db.known_words.add(conn, {"alpha", "gamma"})
    with db.reading() as conn:
        assert _words(conn) == {"alpha", "beta", "gamma"}


def test_a_rolled_back_transaction_leaves_its_words_unknown(db: IndexDatabase) -> None:
    with pytest.raises(RuntimeError), db.writing() as conn:
        db.known_words.add(conn, {"lost"})
        raise RuntimeError("the update failed")
    with db.writing() as conn:
        db.known_words.add(conn, {"lost"})
    with db.reading() as conn:
        assert _words(conn) == {"lost"}


def test_words_emptied_by_another_connection_are_inserted_again(
    db: IndexDatabase, tmp_path: Path
) -> None:
    with db.writing() as conn:
        db.known_words.add(conn, {"kept", "again"})
    other = IndexDatabase(tmp_path)
    try:
        with other.writing() as conn:  # another process's reindex empties the table
            clear(conn)
    finally:
        other.close()
    with db.writing() as conn:
        db.known_words.add(conn, {"again"})
    with db.reading() as conn:
        assert _words(conn) == {"again"}


def test_past_its_limit_the_set_starts_afresh(tmp_path: Path) -> None:
    db = IndexDatabase(tmp_path)
    db.known_words = KnownWords(limit=3)
    try:
        for batch in ({"a1", "a2"}, {"b1", "b2"}):
            with db.writing() as conn:
                db.known_words.add(conn, batch)
        with db.writing() as conn:
            seen = _statements(conn)
            db.known_words.add(conn, {"a1"})  # forgotten when the set overflowed
            conn.set_trace_callback(None)
        assert [s for s in seen if "INTO words" in s]
        with db.reading() as conn:
            assert _words(conn) == {"a1", "a2", "b1", "b2"}
    finally:
        db.close()
