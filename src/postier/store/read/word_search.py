"""A search for one word (`search_sql.word_match`), planned by how many rows hold it, so that
a word nearly every message holds costs about what a rare one does.

The word's rows are those of its FTS5 query on `search`, which has one row per row of
`messages` (visible or hidden, of every mailbox: `rows.delete` removes both together).
Two things cost in proportion to the matches when done as for any search: counting them
(each looked up in `messages` to test its scope and read state), and finding the newest
(each read and sorted). Here:

- a mailbox of few rows counts its rows against FTS5's rows between the lowest and
  the highest of their rowids (`Count.SCOPE`: a short stretch of the doclists, when a
  mailbox's rows are near each other), never the whole doclist of a common word;
- otherwise the matches of the whole index are counted by FTS5 alone (`_ALL`), a tenth
  of the cost of looking each up; the rows outside the scope (hidden, or of another
  mailbox) and the read (or the unread) rows of the scope are each tested for holding
  the word (`PROBE`, one FTS5 lookup by rowid) and taken off, when those rows are few
  (`Count.COMPLEMENT`); or else the matches are counted as any search's are;
- the page walks the list's own order along its index (`listing`) when the rows it
  expects to read (the page's end, times the rows per match) cost less than taking
  every match and sorting (`walks`); the rows it takes bound the matches it looks for
  to a stretch of rowids (`MEMBER_BETWEEN`).

Either way the answer is the same, exactly (`Plan` forces each way, for the tests)."""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from typing import Final

_ALL: Final = "SELECT count(*) FROM search WHERE search MATCH ?"
PROBE: Final = "EXISTS (SELECT 1 FROM search WHERE search MATCH ? AND rowid = m.rowid)"
"""True for a row of `messages m` that holds the word (its FTS5 query the parameter)."""
MEMBER: Final = "m.rowid IN (SELECT rowid FROM search WHERE search MATCH ?)"
"""The same, as a set of rows: what drives a query from the matches."""
MEMBER_BETWEEN: Final = MEMBER[:-1] + " AND rowid BETWEEN ? AND ?)"
"""`MEMBER` among the rows from one rowid to another (two more parameters)."""

PROBE_COST: Final = 100.0
"""A row tested by `PROBE`, in matches counted by looking each up (measured: a lookup
by rowid in FTS5's doclists costs from some tens of microseconds to half a millisecond
for a common word, a match about two)."""
COUNTED_COST: Final = 0.1
"""A match counted by FTS5 alone (`_ALL`), in matches looked up."""
SORT_COST: Final = 3.0
"""A match read and sorted, in rows read on the walk along the list's order (`listing`),
as `queries.page` has it."""


class Count(enum.Enum):
    """How to count the matches in the scope."""

    MATCHES = "matches"
    """Each match looked up: as any search."""
    SCOPE = "scope"
    """The scope's rows tested against FTS5's rows from the lowest of their rowids to the
    highest (`MEMBER_BETWEEN`): a small mailbox, whose rows are near each other."""
    COMPLEMENT = "complement"
    """FTS5's count, less the rows outside the scope that hold the word; the unread
    counted among the scope's unread, or the read taken off: a common word."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How to count (`Count`) and whether to walk the list's order for the page; each
    chosen by its cost when None (the tests force each)."""

    count: Count | None = None
    walk: bool | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the search looks: one mailbox's visible copies (its address), or every
    visible copy (None); and what the index's counts say of it and of the whole."""

    mailbox: str | None
    visible: int
    """The scope's rows (`counts`)."""
    unread: int
    """Of those, the unread."""
    hidden: int
    """Rows of `messages` no list shows."""
    all_visible: int
    all_unread: int
    """The visible rows of every mailbox, and of those the unread."""

    @property
    def outside(self) -> int:
        """The rows of `messages` not in the scope."""
        return self.hidden + self.all_visible - self.visible

    @property
    def few(self) -> bool:
        """A mailbox whose rows are read faster than FTS5 counts the commonest word."""
        everywhere = self.all_visible + self.hidden
        return self.mailbox is not None and self.visible * _SCOPED_COST < everywhere * COUNTED_COST

    def by_state(self, seen: int) -> bool:
        """Whether the scope's rows of one read state (`seen`) are found quicker along
        `messages_by_state` (every visible row in that state) than along the scope's."""
        if self.mailbox is None:
            return True
        everywhere = self.all_visible - self.all_unread if seen else self.all_unread
        return everywhere * _SCOPED_COST < self.visible


_SCOPED_COST: Final = 4.0
"""A row of `messages_by_state` tested for its mailbox (a lookup), in rows of
`messages_by_mailbox` read and their state tested."""
SCAN_COST: Final = 0.1
"""A row of an index read and tested, in matches looked up."""


def scope(conn: sqlite3.Connection, mailbox: str | None) -> Scope:
    where, params = ("", ()) if mailbox is None else (" WHERE mailbox = ?", (mailbox,))
    visible, unread = conn.execute(
        f"SELECT coalesce(sum(messages), 0), coalesce(sum(unread), 0) FROM counts{where}", params
    ).fetchone()
    every, every_unread = conn.execute(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(unread), 0) FROM counts"
    ).fetchone()
    (hidden,) = conn.execute(
        "SELECT count(*) FROM messages INDEXED BY messages_by_state WHERE hidden = 1"
    ).fetchone()
    return Scope(mailbox, int(visible), int(unread), int(hidden), int(every), int(every_unread))


def _probed(conn: sqlite3.Connection, rows: str, params: tuple[object, ...], match: str) -> int:
    (found,) = conn.execute(
        f"SELECT count(*) FROM messages m {rows} AND {PROBE}", (*params, match)
    ).fetchone()
    return int(found)


def _cheapest(everywhere: int, where: Scope) -> Count:
    seen = _fewer(where)
    tested = where.visible - where.unread if seen else where.unread
    if where.by_state(seen):
        scanned = (
            where.all_visible - where.all_unread if seen else where.all_unread
        ) * _SCOPED_COST
    else:
        scanned = where.visible
    # The rows outside a mailbox are read along its index: those of the other mailboxes.
    costs = {
        Count.MATCHES: float(everywhere),
        Count.SCOPE: where.visible * _SCOPED_COST + everywhere * COUNTED_COST,
        Count.COMPLEMENT: (where.outside + tested) * PROBE_COST
        + (where.outside + scanned) * SCAN_COST
        + everywhere * COUNTED_COST,
    }
    return min(costs, key=costs.__getitem__)


def _fewer(where: Scope) -> int:
    """The read state (`seen`) of the fewer of the scope's rows."""
    return int(where.visible - where.unread <= where.unread)


def counts(
    conn: sqlite3.Connection, match: str, where: Scope, plan: Count | None = None
) -> tuple[int, int]:
    """The scope's rows that hold the word (`match` its FTS5 query), and of those the
    unread ones."""
    if plan is None and where.few:
        plan = Count.SCOPE
    everywhere = 0
    if plan is not Count.SCOPE:
        (everywhere,) = conn.execute(_ALL, (match,)).fetchone()
        if not everywhere:
            return 0, 0
        plan = plan or _cheapest(everywhere, where)
    box: tuple[object, ...] = () if where.mailbox is None else (where.mailbox,)
    in_box = "" if where.mailbox is None else " AND m.mailbox = ?"
    if plan is Count.MATCHES:
        # From the matches, `+` keeps SQLite from walking the scope to test each row.
        in_scope = "+m.hidden = 0" + in_box.replace("m.", "+m.")
        total, unread = conn.execute(
            f"SELECT count(*), coalesce(sum(m.seen = 0), 0) FROM messages m "
            f"WHERE {in_scope} AND {MEMBER}",
            (*box, match),
        ).fetchone()
        return int(total), int(unread)
    if plan is Count.SCOPE:
        in_scope = "m.hidden = 0" + in_box
        low, high = conn.execute(
            f"SELECT min(m.rowid), max(m.rowid) FROM messages m WHERE {in_scope}", box
        ).fetchone()
        if low is None:
            return 0, 0
        total, unread = conn.execute(
            f"SELECT count(*), coalesce(sum(m.seen = 0), 0) FROM messages m "
            f"WHERE {in_scope} AND {MEMBER_BETWEEN}",
            (*box, match, low, high),
        ).fetchone()
        return int(total), int(unread)
    if where.mailbox is None:
        away = _probed(conn, "INDEXED BY messages_by_state WHERE m.hidden = 1", (), match)
    else:
        away = _probed(
            conn,
            "INDEXED BY messages_by_mailbox WHERE (m.mailbox < ? OR m.mailbox > ? "
            "OR (m.mailbox = ? AND m.hidden = 1))",
            (where.mailbox,) * 3,
            match,
        )
    total = everywhere - away
    seen = _fewer(where)
    if where.by_state(seen):
        rows = f"INDEXED BY messages_by_state WHERE m.hidden = 0 AND m.seen = ?{in_box}"
        some = _probed(conn, rows.replace("m.mailbox", "+m.mailbox"), (seen, *box), match)
    else:
        rows = f"INDEXED BY messages_by_mailbox WHERE m.hidden = 0{in_box} AND m.seen = ?"
        some = _probed(conn, rows, (*box, seen), match)
    return total, (total - some if seen else some)


def walks(total: int, where: Scope, wanted: int) -> bool:
    """Whether to find the first `wanted` of `total` matches in the scope along the list's
    order (about `wanted * rows / total` rows read) rather than sort them all: always, in
    a mailbox of few rows (read whole, they bound the stretch of FTS5's rows to read)."""
    return where.few or (total > 0 and wanted * where.visible < SORT_COST * total * total)
