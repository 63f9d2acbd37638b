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


def insert(conn: sqlite3.Connection, placed: Placed, found: Extracted, words: KnownWords) -> None:
    """Add a message to the index (its ID must not be there yet); `words`: what the
    `words` table is known to hold already."""
    cursor = conn.execute(
        _INSERT_MESSAGE,
        (
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
        ),
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
    conn.execute(_INSERT_SEARCH, (cursor.lastrowid, *(columns[name] for name in SEARCH_COLUMNS)))
    words.add(conn, tokens(columns))


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Remove messages from the index by rowid (their words stay: a word no message
    holds only widens a search's `MATCH`, never its answer)."""
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        conn.execute(f"DELETE FROM search WHERE rowid IN ({marks})", chunk)
        conn.execute(f"DELETE FROM messages WHERE rowid IN ({marks})", chunk)
