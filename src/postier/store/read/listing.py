"""A page of a list from the index: one mailbox's copies, or all mail (each delivery
once, `deliveries`), all of it or what a search matches, newest first."""

from __future__ import annotations

import sqlite3
from typing import Final

from ..index.search_sql import where
from ..query import Query
from .deliveries import LEAD, UNREAD, all_mail_counts, as_deliveries, asks_copies, search_counts
from .queries import counted, page
from .results import Page

MAILBOX_ORDER: Final = "m.rank DESC, m.position DESC, m.location DESC"
ALL_ORDER: Final = "m.received DESC, m.position DESC, m.location DESC"


def listed(
    conn: sqlite3.Connection,
    query: Query,
    wanted: str | None,
    offset: int,
    limit: int | None,
    *,
    plus: bool = False,
) -> Page:
    """The page from `offset` of `wanted`'s mailbox (its index key), or of all mail (None),
    of the messages that match `query`. In all mail, a query with a `mailbox:` term lists
    the copies it matches (it asks about copies). `plus`: plus-addresses give tags."""
    by_delivery = wanted is None and not asks_copies(query)
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
