"""A page of a list from the index: one mailbox's copies, or all mail (each delivery
once, `deliveries`), all of it or what a search matches, newest first."""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Final

from ..index.search_sql import where, word_match
from ..query import Query
from .deliveries import LEAD, UNREAD, all_mail_counts, as_deliveries, asks_copies, search_counts
from .queries import counted, page
from .results import Page
from .word_search import MEMBER, MEMBER_BETWEEN, Plan, counts, scope, walks

MAILBOX_ORDER: Final = "m.rank DESC, m.position DESC, m.location DESC"
ALL_ORDER: Final = "m.received DESC, m.position DESC, m.location DESC"
MAILBOX_KEY: Final = "m.rank, m.position, m.location"
ALL_KEY: Final = "m.received, m.position, m.location"
"""The columns of each order, all descending."""
WALK_MARGIN: Final = 64
"""Rows taken along the order beyond those that should hold a walked page."""
BOUND_SHARE: Final = 4
"""A walk bounds its matches by the rows it takes when those are under a quarter of the
matches (taking them costs more than the set of the matches saves, past that)."""


def listed(
    conn: sqlite3.Connection,
    query: Query,
    wanted: str | None,
    offset: int,
    limit: int | None,
    *,
    plus: bool = False,
    plan: Plan | None = None,
) -> Page:
    """The page from `offset` of `wanted`'s mailbox (its index key), or of all mail (None),
    of the messages that match `query`. In all mail, a query with a `mailbox:` term lists
    the copies it matches (it asks about copies). `plus`: plus-addresses give tags.
    `plan`: how a one-word search counts and finds its page (`word_search`)."""
    by_delivery = wanted is None and not asks_copies(query)
    word = word_match(query)
    if word is not None:
        (match,) = conn.execute(f"SELECT {word.sql}", word.params).fetchone()
        span = (offset, limit)
        return _word_listed(
            conn, str(match), wanted, span, by_delivery=by_delivery, plan=plan or Plan()
        )
    unread = UNREAD if by_delivery else "m.seen = 0"
    condition = where(query, unread=UNREAD if by_delivery else None, plus=plus)
    # With a search, its matches drive the query: `+` keeps SQLite from walking the
    # index of read state over every message to test each against them.
    clauses: list[str] = ["m.hidden = 0" if condition.sql == "1" else "+m.hidden = 0"]
    params: list[object] = []
    if wanted is not None:
        params.append(wanted)
        clauses.append("m.mailbox = ?")
    if condition.sql != "1":
        clauses.append(f"({condition.sql})")
        params.extend(condition.params)
    matching = " AND ".join(clauses)
    if by_delivery:
        clauses.append(LEAD)
    # Without a search, the list is a whole mailbox, or all mail: counted already.
    counts = None
    if condition.sql == "1":
        counts = all_mail_counts(conn) if by_delivery else counted(conn, wanted)
    elif by_delivery:
        counts = search_counts(conn, matching, params)
    found = page(
        conn, " AND ".join(clauses), params,
        order=MAILBOX_ORDER if wanted is not None else ALL_ORDER, offset=offset, limit=limit,
        numbered=wanted is not None and condition.sql == "1",
        ordered_by=None if wanted is not None else "messages_by_received",
        counts=counts, unread=unread,
    )  # fmt: skip
    if by_delivery:
        found = Page(found.total, found.unread, as_deliveries(conn, found.messages))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class _List:
    """The SQL of a one-word search's list: its scope (`box` the parameters of `in_box`),
    `lead` (all mail's entries), and its order, that order's index and key columns."""

    box: tuple[object, ...]
    in_box: str
    lead: str
    order: str
    index: str
    key: str


def _word_listed(
    conn: sqlite3.Connection,
    match: str,
    wanted: str | None,
    span: tuple[int, int | None],
    *,
    by_delivery: bool,
    plan: Plan,
) -> Page:
    """`listed` for one word, `match` its FTS5 query (`word_search`), `span` the page's
    offset and limit."""
    offset, limit = span
    where_ = scope(conn, wanted)
    found = counts(conn, match, where_, plan.count)
    box: tuple[object, ...] = () if wanted is None else (wanted,)
    in_box = "" if wanted is None else " AND m.mailbox = ?"
    # From the matches, `+` keeps SQLite from walking the scope to test each row.
    matching = f"+m.hidden = 0{in_box.replace('m.', '+m.')} AND {MEMBER}"
    if by_delivery:
        found = search_counts(conn, matching, [*box, match], found)
    lead = f" AND {LEAD}" if by_delivery else ""
    listing = (
        _List(box, in_box, lead, MAILBOX_ORDER, "messages_by_mailbox", MAILBOX_KEY)
        if wanted is not None
        else _List(box, in_box, lead, ALL_ORDER, "messages_by_received", ALL_KEY)
    )
    walk = plan.walk
    if walk is None:
        walk = limit is not None and walks(found[0], where_, offset + limit)
    if not walk or limit is None:
        result = page(
            conn, matching + lead, [*box, match], order=listing.order, offset=offset,
            limit=limit, numbered=False, counts=found, walk=False,
        )  # fmt: skip
    else:
        spread = where_.visible / max(found[0], 1)
        # A mailbox of few rows is read whole: they bound the stretch, however many match.
        total = None if where_.few else found[0]
        result = _walked(conn, match, listing, (offset, limit), (spread, total))
        result = Page(found[0], found[1], result.messages)
    if by_delivery:
        result = Page(result.total, result.unread, as_deliveries(conn, result.messages))
    return result


def _walked(
    conn: sqlite3.Connection,
    match: str,
    listing: _List,
    span: tuple[int, int],
    matches: tuple[float, int | None],
) -> Page:
    """The page (`span`: offset, limit) of a word most rows hold (`matches`: the rows a
    match, and the matches, None for no limit), along the list's order. Where the rows
    to take exceed a share of the matches (`BOUND_SHARE`), the walk tests each row
    against the set of the matches, as any search's does. Otherwise the first rows along
    the list's order, as many as should hold the page, bound the
    search, for the matches among the rows strictly before the last of them are FTS5's
    between their lowest and highest rowid (a short stretch of its doclists where the
    order follows the rowids, as in a mailbox indexed in its order; else most of them).
    When the page is not full there, more rows are taken, until it is or every
    row was. Its counts are left 0."""
    offset, limit = span
    box, order, index, key = listing.box, listing.order, listing.index, listing.key
    visible = "m.hidden = 0" + listing.in_box
    spread, total = matches
    rows = max(1, int((offset + limit) * spread * 1.25)) + WALK_MARGIN
    if total is not None and rows * BOUND_SHARE > total:
        return page(
            conn, f"{visible} AND {MEMBER}{listing.lead}", [*box, match], order=order,
            offset=offset, limit=limit, numbered=False, ordered_by=index, counts=(0, 0),
            walk=True,
        )  # fmt: skip
    while True:
        first = conn.execute(
            f"SELECT m.rowid, {key} FROM messages m INDEXED BY {index} WHERE {visible} "
            f"ORDER BY {order} LIMIT ?",
            (*box, rows),
        ).fetchall()
        if not first:
            return Page(0, 0, [])
        bound, last = "", ()
        if len(first) == rows:
            last = first[-1][1:]
            bound = f" AND ({key}) > ({', '.join('?' * len(last))})"
        # Every row taken (those the bound leaves, or every row) is in that stretch.
        ends = (min(row[0] for row in first), max(row[0] for row in first))
        params = [*box, *last, match, *ends]
        result = page(
            conn, f"{visible}{bound} AND {MEMBER_BETWEEN}{listing.lead}", params, order=order,
            offset=offset, limit=limit, numbered=False, ordered_by=index, counts=(0, 0),
            walk=True,
        )  # fmt: skip
        if not bound or len(result.messages) == limit:
            return result
        rows *= 4
