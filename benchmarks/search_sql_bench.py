"""The index's search SQL on a synthetic index: the time of a page of results and of the count
for a few kinds of query, then of whole pages as the reader asks for them (50 newest and
the total and unread counts, `read.queries.page`) for many one-word and `from:` searches,
with their 95th percentile, and the index's bytes per row (prints figures; nothing is
asserted).

    python benchmarks/search_sql_bench.py [--rows 100000] [--file PATH]

Each message's text is ~100 words drawn (Zipf-like) from a 5,000-word vocabulary, so that
the vocabulary has common words and rare ones; one sender in 50 is an alice.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import string
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postier.store.index import schema
from postier.store.index.search_sql import message_columns, search_columns, tokens, where
from postier.store.index.words import KnownWords
from postier.store.query import SearchRecord, parse_query
from postier.store.read.queries import page

VOCABULARY = 5_000
WORDS_PER_TEXT = 100
REPEATS = 3
SAMPLES = 20
"""Words of each kind (common, middling, rare) and senders whose whole page is timed."""


def _vocabulary(rng: random.Random) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        length = rng.randint(4, 10)
        words["".join(rng.choices(string.ascii_lowercase, k=length))] = None
    return list(words)


def _records(rows: int, rng: random.Random) -> list[SearchRecord]:
    vocabulary = _vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
    names = ["alice", *(f"user{n}" for n in range(49))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    records = []
    for n in range(rows):
        name = rng.choice(names)
        words = rng.choices(vocabulary, weights, k=WORDS_PER_TEXT)
        records.append(
            SearchRecord(
                mailbox=f"box{n % 10}@example.org",
                sender=f"{name.title()} <{name}@example.org>",
                to=(f"dest{n % 7}@example.org",),
                cc=(),
                subject=" ".join(words[:6]).capitalize(),
                message_id=f"<{n}@example.org>",
                text=" ".join(words[6:]),
                received=start + timedelta(seconds=rng.randrange(365 * 86400)),
                size=rng.randrange(500, 200_000),
                attachments=rng.randrange(3),
                read=rng.random() < 0.5,
            )
        )
    return records


def _fill(connection: sqlite3.Connection, records: list[SearchRecord]) -> None:
    connection.executescript(schema.TABLES)
    dummy = "entry, mailbox, position, location, length, sender, from_address, recipients"
    dummy += ", cc, subject, message_id, hidden, snippet"
    words = KnownWords()
    with connection:
        for rowid, record in enumerate(records, start=1):
            m = message_columns(record)
            connection.execute(
                f"INSERT INTO messages(rowid, id, received, size, attachments, seen, {dummy})"
                " VALUES (?, ?, ?, ?, ?, ?, 'e', 'b', 0, '', 0, '', '', '[]', '[]', '', '', 0, '')",
                (rowid, f"id{rowid}", m["received"], m["size"], m["attachments"], m["seen"]),
            )
            s = search_columns(record)
            connection.execute(
                f"INSERT INTO search(rowid, {', '.join(s)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rowid, *s.values()),
            )
            words.add(connection, tokens(s))
        # The words' trigrams, without which a word of three characters or more finds nothing.
        words.before_commit(connection)


def _best(run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - began)
    return best, result


def _measure(connection: sqlite3.Connection, label: str, text: str) -> None:
    condition = where(parse_query(text))
    page = (
        f"SELECT m.rowid FROM messages AS m WHERE {condition.sql} ORDER BY m.received DESC LIMIT 50"
    )
    count = f"SELECT COUNT(*) FROM messages AS m WHERE {condition.sql}"
    page_s, rows = _best(lambda: connection.execute(page, condition.params).fetchall())
    count_s, total = _best(lambda: connection.execute(count, condition.params).fetchone())
    assert isinstance(rows, list) and isinstance(total, tuple)
    print(
        f"{label:<14} {text!r:<22} page {page_s * 1e3:8.1f} ms ({len(rows):2} rows)"
        f"   count {count_s * 1e3:8.1f} ms ({total[0]} rows)"
    )


def _page_ms(connection: sqlite3.Connection, text: str) -> float:
    """One whole page as `Reader.messages` asks for it, every mailbox, newest first."""
    condition = where(parse_query(text))
    began = time.perf_counter()
    page(
        connection,
        f"m.hidden = 0 AND ({condition.sql})",
        condition.params,
        order="m.received DESC, m.position DESC, m.location DESC",
        offset=0,
        limit=50,
        numbered=False,
        ordered_by="messages_by_received",
    )
    return (time.perf_counter() - began) * 1e3


def _percentiles(label: str, connection: sqlite3.Connection, texts: list[str]) -> None:
    times = sorted(_page_ms(connection, text) for text in texts for _ in range(REPEATS))
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, len(times) * 95 // 100)]
    print(
        f"{label:<26} {len(texts):3} queries  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
        f"  max {times[-1]:7.1f} ms"
    )


def _sizes(connection: sqlite3.Connection, rows: int) -> None:
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    print(f"index: {page_size * pages / rows:.0f} bytes per row in all")
    try:
        tables = connection.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
        ).fetchall()
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return
    print("   " + ", ".join(f"{name} {size / rows:.0f}" for name, size in tables))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file", type=Path, help="a database file (default: in memory)")
    arguments = parser.parse_args()
    rng = random.Random(20240531)
    records = _records(arguments.rows, rng)
    if arguments.file is not None:
        arguments.file.unlink(missing_ok=True)
    with sqlite3.connect(arguments.file or ":memory:") as connection:
        began = time.perf_counter()
        _fill(connection, records)
        print(f"{arguments.rows} rows indexed in {time.perf_counter() - began:.1f} s")
        counts = Counter(w for r in records for w in set(r.text.split()))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        common = ranked[0]
        rare = next(w for w in reversed(ranked) if counts[w] >= 3)
        two = min(w[:2] for w in counts if len(w) >= 2)
        for label, text in [
            ("rare word", rare),
            ("common word", common),
            ("2-letter word", two),
            ("field", "from:alice"),
            ("negated word", f"-{common}"),
            ("negated rare", f"-{rare}"),
            ("two words", f"{common} {rare}"),
            ("phrase", f'"{" ".join(records[0].text.split()[3:5])}"'),
        ]:
            _measure(connection, label, text)
        pick = random.Random(1).sample
        middle = ranked[len(ranked) // 10 : len(ranked) // 2]
        _percentiles("page: the commonest words", connection, ranked[:SAMPLES])
        _percentiles("page: middling words", connection, pick(middle, SAMPLES))
        _percentiles("page: rare words", connection, ranked[-SAMPLES:])
        senders = ["alice", *(f"user{n}" for n in range(SAMPLES - 1))]
        _percentiles("page: from:", connection, [f"from:{name}" for name in senders])
        _sizes(connection, arguments.rows)
    connection.close()


if __name__ == "__main__":
    main()
