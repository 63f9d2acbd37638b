"""All mail, one entry a delivery: the SQL that picks a delivery's lead copy, all mail's
counts, and a delivery's entry made from its lead's row.

postier files one copy of a delivery in each recipient's mailbox; all its copies carry the
delivery's ID (`identity.delivery_id`) in the index's `delivery` column. A mailbox lists
its copies, each under its copy ID; all mail lists each delivery once, under its `d` ID,
through its **lead**: the visible copy indexed first (lowest `seq`). Copies share their
content (only their trace headers differ), so a search's content terms are tested on the
lead; its read state is the delivery's (unread while any copy is). A search with a
`mailbox:` term asks about copies (the copy in that mailbox, not the delivery), so in all
mail it lists the copies that match, each under its copy ID, as a mailbox would: then
deleting or marking what it found touches those copies and no other. A message postier
did not file is a delivery of one copy, listed under its copy ID everywhere.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Final

from ..identity import is_delivery_id
from ..query import Field, FieldTerm, Not, Query, Term
from .lookup import Located, located, located_all
from .results import MessageSummary

LEAD: Final = (
    "(m.delivery = '' OR m.seq = (SELECT d.seq FROM messages d INDEXED BY messages_by_delivery "
    "WHERE d.delivery = m.delivery AND d.hidden = 0 AND d.delivery != '' "
    "ORDER BY d.seq LIMIT 1))"
)
"""True for the row all mail lists: a foreign copy, or a delivery's lead (one step along
`messages_by_delivery`)."""
UNREAD: Final = (
    "(CASE WHEN m.seen = 0 THEN 1 WHEN m.delivery = '' THEN 0 ELSE coalesce((SELECT "
    "u.unread > 0 FROM deliveries u WHERE u.delivery = m.delivery), 0) END)"
)
"""True for an entry of all mail that is unread: a foreign copy not read, a delivery with
a copy not read (a copy unread says so at once; only a read one looks at the others)."""


_COPIES: Final = "m.delivery = ? AND m.hidden = 0 AND m.delivery != '' ORDER BY m.seq"
"""A delivery's visible copies, its lead first."""


def delivery_lead(conn: sqlite3.Connection, delivery: str) -> Located | None:
    """The delivery's lead copy, with the delivery's entry as its summary; None when no
    copy is left."""
    found = located(conn, f"{_COPIES} LIMIT 1", (delivery,))
    if found is None:
        return None
    return dataclasses.replace(found, summary=as_deliveries(conn, [found.summary])[0])


def delivery_leads(conn: sqlite3.Connection, deliveries: Sequence[str]) -> dict[str, Located]:
    """`delivery_lead` of many deliveries at once (a few queries, not two each); those
    with no copy left are not in the result."""
    leads: dict[str, Located] = {}
    wanted = list(dict.fromkeys(deliveries))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        copies = located_all(
            conn,
            f"m.delivery IN ({', '.join('?' * len(chunk))}) AND m.hidden = 0 "
            "AND m.delivery != '' ORDER BY m.delivery, m.seq",
            tuple(chunk),
        )
        for copy in copies:
            leads.setdefault(copy.summary.delivery, copy)  # the lowest seq: the lead
    entries = as_deliveries(conn, [lead.summary for lead in leads.values()])
    return {
        delivery: dataclasses.replace(lead, summary=entry)
        for (delivery, lead), entry in zip(leads.items(), entries, strict=True)
    }


def entries_located(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, Located]:
    """Where each of all mail's entries `keys` is, by key, with a few queries for all:
    a delivery's lead (`delivery_leads`), any other ID's copy; those gone are left out."""
    places = delivery_leads(conn, [key for key in keys if is_delivery_id(key)])
    others = list(dict.fromkeys(key for key in keys if not is_delivery_id(key)))
    for start in range(0, len(others), 500):
        chunk = others[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for where in located_all(conn, f"m.id IN ({marks}) AND m.hidden = 0", tuple(chunk)):
            places[where.summary.id] = where
    return places


def delivery_copies(conn: sqlite3.Connection, delivery: str) -> list[Located]:
    """Every visible copy of the delivery, in the order indexed (its lead first)."""
    return located_all(conn, _COPIES, (delivery,))


def asks_copies(query: Query) -> bool:
    """Whether `query` has a `mailbox:` term (negated or not): it is about copies."""
    return any(_names_mailbox(term) for term in query.terms)


def _names_mailbox(term: Term) -> bool:
    if isinstance(term, Not):
        return _names_mailbox(term.term)
    return isinstance(term, FieldTerm) and term.field is Field.MAILBOX


def all_mail_counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """All mail's entries and unread entries: every visible copy (`counts`), less the
    copies beyond the first of each delivery of several, and their unread beyond one
    (`sharing`)."""
    total, unread = conn.execute(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(unread), 0) FROM counts"
    ).fetchone()
    deliveries, copies, extra_unread = _sharing(conn)
    return int(total) - (copies - deliveries), int(unread) - extra_unread


def _sharing(conn: sqlite3.Connection) -> tuple[int, int, int]:
    row = conn.execute("SELECT deliveries, copies, unread FROM sharing").fetchone()
    return (0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]))


def search_counts(
    conn: sqlite3.Connection,
    condition: str,
    params: Sequence[object],
    copies: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """All mail's entries and unread entries among the rows `messages m WHERE {condition}`
    (the visible rows a search matches, whose leads all mail lists).

    The rows are counted first. When no delivery has several copies, that is all. When the
    matches are fewer than those deliveries' copies, each match is tested for being a lead
    (`LEAD`) and for being unread as an entry (`UNREAD`); otherwise the copies of those
    deliveries are, and the count corrected: less the copies that are no lead, and each
    shared delivery's lead unread when any of its copies is. Either way the work is one
    step per row of the smaller set, never one per match of a common word as well as one
    per copy of a store where every message went to several recipients. `copies`: the
    rows' count and unread, when known."""
    if copies is None:
        copies = conn.execute(
            f"SELECT count(*), coalesce(sum(m.seen = 0), 0) FROM messages m WHERE {condition}",
            params,
        ).fetchone()
    total, unread = copies
    total, unread = int(total), int(unread)
    _, shared, _ = _sharing(conn)
    if not shared or not total:
        return total, unread
    if total <= shared:
        found, found_unread = conn.execute(
            f"SELECT count(*), coalesce(sum({UNREAD}), 0) FROM messages m "
            f"WHERE {condition} AND {LEAD}",
            params,
        ).fetchone()
        return int(found), int(found_unread)
    others, correction = conn.execute(
        "SELECT coalesce(sum(NOT lead), 0), coalesce(sum(CASE WHEN lead "
        "THEN delivery_unread - copy_unread ELSE -copy_unread END), 0) "
        "FROM (SELECT s.unread > 0 AS delivery_unread, m.seen = 0 AS copy_unread, "
        f"{LEAD} AS lead FROM deliveries s INDEXED BY deliveries_shared "
        "JOIN messages m INDEXED BY messages_by_delivery "
        "ON m.delivery = s.delivery AND m.hidden = 0 AND m.delivery != '' "
        f"WHERE s.copies > 1 AND ({condition}))",
        params,
    ).fetchone()
    return total - int(others), unread + int(correction)


def as_deliveries(conn: sqlite3.Connection, rows: Sequence[MessageSummary]) -> list[MessageSummary]:
    """The entries of all mail for `rows` (leads, and foreign copies as they are): a lead
    becomes its delivery's entry, with the `d` ID, every copy's mailbox, read when no
    copy is unread."""
    wanted = sorted({row.delivery for row in rows if row.delivery})
    copies: dict[str, list[tuple[str, bool]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found = conn.execute(
            "SELECT delivery, mailbox, seen FROM messages INDEXED BY messages_by_delivery "
            f"WHERE delivery IN ({', '.join('?' * len(chunk))}) AND hidden = 0 "
            "AND delivery != '' ORDER BY delivery, seq",
            chunk,
        )
        for delivery, mailbox, seen in found:
            copies.setdefault(str(delivery), []).append((str(mailbox), bool(seen)))
    return [_entry(row, copies.get(row.delivery)) for row in rows]


def _entry(row: MessageSummary, copies: list[tuple[str, bool]] | None) -> MessageSummary:
    if not row.delivery:
        return row
    if not copies:  # gone between the two reads of one transaction: not possible
        copies = [(row.mailbox, row.read)]
    return dataclasses.replace(
        row,
        id=row.delivery,
        number=0,
        read=all(seen for _, seen in copies),
        copies=tuple(dict.fromkeys(mailbox for mailbox, _ in copies)),
    )
