"""A one-word search answers the same whichever way it counts and finds its page
(`read.word_search`: from the matches, from the scope's rows, or FTS5's count less the rows
that do not count; the page sorted, or walked along the list's order, bound or not): its
page and counts equal those of the same search asked as two terms (the plan of any
search), over generated indexes of two mailboxes with hidden rows, read and unread rows
and deliveries of several copies."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postier.store.index import schema
from postier.store.index.search_sql import message_columns, search_columns, tokens, word_match
from postier.store.index.words import KnownWords
from postier.store.query import Field, FieldTerm, Query, SearchRecord, TextTerm, parse_query
from postier.store.read import listing
from postier.store.read.word_search import Count, Plan

WORDS = ["ab", "abc", "xab", "cd", "abab"]
"""Texts are made of these, so that a word is held by most rows, some or none."""
MAILBOXES = ["a@example.org", "b@example.org"]
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    mailbox: int
    text: tuple[str, ...]
    sender: str
    minutes: int
    seen: bool
    hidden: bool
    delivery: str
    maildir: bool


rows = st.builds(
    Row,
    mailbox=st.integers(0, 1),
    text=st.lists(st.sampled_from(WORDS), max_size=3).map(tuple),
    sender=st.sampled_from(["ab@x", "cd@y", ""]),
    minutes=st.integers(0, 30),
    seen=st.booleans(),
    hidden=st.integers(0, 5).map(lambda n: n == 0),
    delivery=st.sampled_from(["", "", "d1", "d2", "d3"]),
    maildir=st.booleans(),
)
queries = st.sampled_from(
    [TextTerm((word,)) for word in [*WORDS, "ba", "zz"]]
    + [FieldTerm(Field.FROM, ("ab",)), FieldTerm(Field.MAILBOX, ("a@",))]
)
PLANS = [Plan(count, walk) for count in (None, *Count) for walk in (None, True, False)]


def _index(generated: list[Row]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.executescript(schema.TABLES)
    words = KnownWords()
    for rowid, row in enumerate(generated, start=1):
        mailbox = MAILBOXES[row.mailbox]
        record = SearchRecord(
            mailbox=mailbox,
            sender=row.sender,
            to=(),
            cc=(),
            subject="",
            message_id=f"<{rowid}@x>",
            text=" ".join(row.text),
            # Distinct times and positions: every order has one answer, whatever the plan.
            received=START + timedelta(minutes=row.minutes, microseconds=rowid),
            size=1,
            attachments=0,
            read=row.seen,
        )
        values = {
            "id": f"id{rowid}",
            "entry": mailbox + (".maildir" if row.maildir else ".mbox"),
            "mailbox": mailbox,
            "position": (rowid * 7919) % 1009,
            "location": f"cur/{rowid}" if row.maildir else "",
            "length": 1,
            "sender": row.sender,
            "from_address": row.sender,
            "recipients": json.dumps([]),
            "cc": json.dumps([]),
            "subject": "",
            "message_id": record.message_id,
            "hidden": int(row.hidden),
            "snippet": "",
            "rank": int(row.maildir),
            "delivery": row.delivery,
            **message_columns(record),
        }
        connection.execute(
            f"INSERT INTO messages(rowid, {', '.join(values)}) "
            f"VALUES (?, {', '.join('?' * len(values))})",
            (rowid, *values.values()),
        )
        columns = search_columns(record)
        connection.execute(
            f"INSERT INTO search(rowid, {', '.join(columns)}) "
            f"VALUES (?, {', '.join('?' * len(columns))})",
            (rowid, *columns.values()),
        )
        words.add(connection, tokens(columns))
    words.before_commit(connection)
    return connection


def _agree(generated: list[Row], term: TextTerm | FieldTerm, span: tuple[int, int | None]) -> None:
    offset, limit = span
    with closing(_index(generated)) as connection:
        for wanted in (None, *MAILBOXES):
            # Two terms: not a one-word search, so the plan of any search.
            expected = listing.listed(connection, Query((term, term)), wanted, offset, limit)
            for plan in PLANS:
                got = listing.listed(connection, Query((term,)), wanted, offset, limit, plan=plan)
                assert got == expected, (term, wanted, plan)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(rows, max_size=40),
    queries,
    st.sampled_from([0, 1, 3]),
    st.sampled_from([1, 2, 5, None]),
    st.sampled_from([0, 2, 64]),
)
@example([Row(0, ("ab",), "", 0, False, False, "", False)] * 5, TextTerm(("ab",)), 1, 2, 0)
# The newest first: the walk's bound is from the lowest rowid it took, which matches.
@example(
    [Row(0, ("ab",), "", 10 - n, n % 2 == 0, False, "", False) for n in range(6)],
    TextTerm(("ab",)),
    0,
    1,
    0,
)
def test_every_plan_answers_as_any_search_does(
    generated: list[Row],
    term: TextTerm | FieldTerm,
    offset: int,
    limit: int | None,
    margin: int,
) -> None:
    # A small margin makes the walk bound by its first rows and take more when short.
    with mock.patch.object(listing, "WALK_MARGIN", margin):
        _agree(generated, term, (offset, limit))


@pytest.mark.parametrize(
    ("text", "single"),
    [
        ("ab", True),
        ("from:ab", True),
        ("mailbox:a@", True),
        ("a", False),  # one character: the stored text decides
        ("-ab", False),
        ("ab cd", False),
        ('"ab cd"', False),
        ("ab is:unread", False),
    ],
)
def test_only_one_word_alone_takes_the_word_plans(text: str, single: bool) -> None:
    assert (word_match(parse_query(text)) is not None) is single
