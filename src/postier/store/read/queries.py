"""The index's queries that make the read side's answers: a mailbox's line, a page."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ..maildir_layout import may_be_maildir
from .errors import DamagedMailbox
from .results import SUMMARY_COLUMNS, MailboxSummary, Page, from_micros, summary_from_row

_SORT_COST: Final = 3
"""A matching row read and sorted, in steps of a walk along an index (measured)."""


def merge_mailboxes(rows: Sequence[tuple[str, int, int, int, int | None]]) -> list[MailboxSummary]:
    """One line per address from the index's per-file rows (an address may have an mbox
    and a Maildir), newest first, then by address."""
    merged: dict[str, list[int | None]] = {}
    for address, count, unread, size, newest in rows:
        line = merged.setdefault(address, [0, 0, 0, None])
        line[0] = (line[0] or 0) + count
        line[1] = (line[1] or 0) + unread
        line[2] = (line[2] or 0) + size
        if newest is not None and (line[3] is None or newest > line[3]):
            line[3] = newest
    result = [
        MailboxSummary(
            address, int(c or 0), int(u or 0), int(s or 0), None if n is None else from_micros(n)
        )
        for address, (c, u, s, n) in merged.items()
    ]
    result.sort(key=lambda box: box.address)
    result.sort(
        key=lambda box: box.newest.timestamp() if box.newest else float("-inf"), reverse=True
    )
    return result


def page(
    conn: sqlite3.Connection,
    condition: str,
    params: Sequence[object],
    *,
    order: str,
    offset: int,
    limit: int | None,
    numbered: bool,
    ordered_by: str | None = None,
    counts: tuple[int, int] | None = None,
    unread: str = "m.seen = 0",
    walk: bool | None = None,
) -> Page:
    """The rows of `messages m WHERE {condition}` in `order`, from `offset`, and their
    counts. `numbered`: the list is one whole mailbox, newest first, so each row's number
    in it follows from its place. `ordered_by`: an index whose order starts `order`'s.
    `counts`: the rows' number and unread, when known (`counted`); else they are counted,
    `unread` saying which are. `walk`: whether to walk `ordered_by` (when known; else
    whether it is shorter is guessed from the counts)."""
    if counts is None:
        counts = conn.execute(
            f"SELECT count(*), coalesce(sum({unread}), 0) FROM messages m WHERE {condition}",
            params,
        ).fetchone()
    total, unread_count = counts
    source = "messages m"
    if walk is None:
        walk = limit is not None and _walk_is_shorter(conn, total, offset + limit)
    if ordered_by is not None and walk:
        source = f"messages m INDEXED BY {ordered_by}"
    rows = conn.execute(
        f"SELECT {aliased(SUMMARY_COLUMNS)} FROM {source} WHERE {condition} "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, -1 if limit is None else limit, offset],
    ).fetchall()
    messages = [
        summary_from_row(row, total - offset - index if numbered else 0)
        for index, row in enumerate(rows)
    ]
    return Page(int(total), int(unread_count), messages)


def counted(conn: sqlite3.Connection, address: str | None) -> tuple[int, int]:
    """How many messages `address`'s mailbox shows (every mailbox: None) and how many of
    them are unread: the index's `counts`, a line a mailbox file, summed."""
    where, params = ("", ()) if address is None else (" WHERE mailbox = ?", (address,))
    total, unread = conn.execute(
        f"SELECT coalesce(sum(messages), 0), coalesce(sum(unread), 0) FROM counts{where}",
        params,
    ).fetchone()
    return int(total), int(unread)


def mailbox_lines(conn: sqlite3.Connection) -> list[MailboxSummary]:
    """Every mailbox with its counts, size and newest date (`merge_mailboxes`)."""
    rows = conn.execute(
        "SELECT b.address, coalesce(sum(c.messages), 0), coalesce(sum(c.unread), 0), "
        "coalesce(sum(c.size), 0), max(c.newest) FROM mailboxes b "
        "LEFT JOIN counts c ON c.entry = b.entry GROUP BY b.entry"
    ).fetchall()
    return merge_mailboxes(rows)


def _walk_is_shorter(conn: sqlite3.Connection, total: int, wanted: int) -> bool:
    """Whether walking the index in order until `wanted` of the `total` matching rows
    are found (about `wanted * rows / total` steps, each a test) costs less than taking
    every match and sorting them (`total` rows read, a few steps' worth each); SQLite's
    planner cannot tell, as it cannot know how many rows a `MATCH` selects."""
    if total == 0:
        return False
    (rows,) = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
    return bool(wanted * int(rows) < _SORT_COST * total * total)


def check_maildir(path: Path) -> None:
    """A directory named as a Maildir is one, or one being made (empty: the server makes
    it, then tmp/, new/ and cur/ in it); anything else there is a damaged mailbox."""
    if not may_be_maildir(path):
        raise DamagedMailbox(f"{path.name} is not a Maildir (no tmp/, new/ or cur/)")


def has_mailbox(conn: sqlite3.Connection, address: str) -> bool:
    row = conn.execute("SELECT 1 FROM mailboxes WHERE address = ? LIMIT 1", (address,))
    return row.fetchone() is not None


def aliased(columns: str) -> str:
    return ", ".join(f"m.{name.strip()}" for name in columns.split(","))
