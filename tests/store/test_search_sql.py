"""The search language compiled to SQL, by example: a table of queries run against a few
records in an in-memory index, each answer also checked against `Query.matches`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from postier.store.index import schema
from postier.store.index.search_sql import (
    Condition,
    fts_match,
    message_columns,
    search_columns,
    tokens,
    where,
)
from postier.store.index.words import KnownWords
from postier.store.query import (
    DateTerm,
    Field,
    FieldTerm,
    Not,
    Query,
    SearchRecord,
    TextTerm,
    parse_query,
)

_DUMMY = {
    "entry": "box.mbox",
    "mailbox": "box",
    "position": 0,
    "location": "",
    "length": 0,
    "sender": "",
    "from_address": "",
    "recipients": "[]",
    "cc": "[]",
    "subject": "",
    "message_id": "",
    "hidden": 0,
    "snippet": "",
}
"""Values for the `messages` columns no query looks at."""


def insert(connection: sqlite3.Connection, rowid: int, record: SearchRecord) -> None:
    """Adds `record` as the index stores it, under `rowid`. Its tags are its header's
    (a plus-address's decoy beside them, not counted), or, every third record, chosen by
    the API (a header's decoy beside them, replaced)."""
    tags = json.dumps(list(record.tags))
    chosen = rowid % 3 == 2
    row = {
        **_DUMMY,
        "id": f"id{rowid}",
        **message_columns(record),
        "header_tags": '["decoy"]' if chosen else tags,
        "plus_tags": '["decoy"]',
    }
    if chosen:
        connection.execute("INSERT INTO tags_chosen VALUES (?, ?)", (f"id{rowid}", tags))
    names = ", ".join(row)
    connection.execute(
        f"INSERT INTO messages(rowid, {names}) VALUES (?, {', '.join('?' * len(row))})",
        (rowid, *row.values()),
    )
    columns = search_columns(record)
    connection.execute(
        f"INSERT INTO search(rowid, {', '.join(columns)})"
        f" VALUES (?, {', '.join('?' * len(columns))})",
        (rowid, *columns.values()),
    )
    words = KnownWords()
    words.add(connection, tokens(columns))
    words.before_commit(connection)


@contextmanager
def index_of(records: Sequence[SearchRecord]) -> Iterator[sqlite3.Connection]:
    """An in-memory index holding `records`, the first under rowid 1."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.executescript(schema.TABLES)
        for rowid, record in enumerate(records, start=1):
            insert(connection, rowid, record)
        yield connection


def found(connection: sqlite3.Connection, query: Query) -> set[int]:
    """The rowids of the messages `where(query)` selects."""
    condition = where(query)
    sql = f"SELECT m.rowid FROM messages AS m WHERE {condition.sql}"
    return {rowid for (rowid,) in connection.execute(sql, condition.params)}


def record(**fields: object) -> SearchRecord:
    values: dict[str, object] = {
        "mailbox": "",
        "sender": "",
        "to": (),
        "cc": (),
        "subject": "",
        "message_id": "",
        "text": "",
        "received": datetime(2024, 5, 31, 12, tzinfo=UTC),
        "size": 0,
        "attachments": 0,
        "read": False,
    }
    values.update(fields)
    return SearchRecord(**values)  # type: ignore[arg-type]


RECORDS = [
    record(
        mailbox="bob@example.org",
        sender="Alice Martin <alice@example.org>",
        to=("Bob <bob@example.org>", "carol@example.net"),
        subject="Invoice for March",
        message_id="<1234@example.org>",
        text="Please find the invoice attached.\nGrüße aus der Straße",
        received=datetime(2024, 5, 31, 10, tzinfo=UTC),
        size=2048,
        attachments=1,
        read=True,
    ),
    record(
        mailbox="alice@example.org",
        sender="Zoë <zoe@exemple.fr>",
        to=("alice@example.org",),
        cc=("Dave <dave@example.com>",),
        subject="ÉTÉ 2024",
        message_id="<été@exemple.fr>",
        text="hello   world; it's 100% done -- DROP TABLE messages; _x_ ' \"",
        # The last microsecond of May 30th, UTC, written in another zone.
        received=datetime(2024, 5, 31, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))),
        size=500,
        read=False,
    ),
    record(
        mailbox="carol@example.net",
        sender="İstanbul <ist@example.tr>",
        cc=("x@example.com", "y@example.com"),
        subject='quote " here',
        message_id="<k@x>",
        text="e\u0301te\u0301 (cafe\u0301) ^start *star col:on\x00after NUL ﬁne",
        received=datetime(2024, 6, 1, tzinfo=UTC),
        size=501,
        attachments=3,
        read=False,
    ),
]

TABLE: list[tuple[str, set[int]]] = [
    ("", {1, 2, 3}),
    # Bare words, case-folded, any of the searched parts.
    ("invoice", {1}),
    ("INVOICE", {1}),
    ("alice", {1, 2}),
    ("martin", {1}),
    ("dave", {2}),
    ("x@example", {3}),
    ("nowhere", set()),
    # Fewer than three characters: no trigram, instr alone.
    ("in", {1, 3}),
    ("é", {2, 3}),
    ("a", {1, 2, 3}),
    # Phrases: any whitespace between the words, never spanning two parts.
    ('"lo wor"', {2}),
    ('"hello world"', {2}),
    ('"attached. grüße"', {1}),
    ('"march alice"', set()),
    ('"org carol"', set()),
    ('"x@example.com y"', set()),
    ("message-id:1234", {1}),
    ("1234", set()),  # the Message-ID is not searched by bare words
    ("bob@example.org", {1}),  # a To address, not the mailbox
    # Fields.
    ("from:alice", {1}),
    ("from:ZOË", {2}),
    ("to:alice", {2}),
    ("to:carol", {1}),
    ("to:dave", set()),
    ("cc:dave", {2}),
    ("cc:com", {2, 3}),
    ('cc:"com y"', set()),
    ("subject:été", {2}),
    ("subject:ete", set()),
    ("subject:invoice", {1}),
    ("subject:attached", set()),
    ("mailbox:alice", {2}),
    ("mailbox:org", {1, 2}),
    ("message-id:été", {2}),
    # Folding beyond ASCII.
    ("strasse", {1}),
    ("STRASSE", {1}),
    ("grüsse", {1}),
    ("été", {2, 3}),
    ("e\u0301te\u0301", {2, 3}),
    ("café", {3}),
    ("(café)", {3}),
    ("İstanbul", {3}),
    ("istanbul", set()),  # İ folds to i and a combining dot
    ("stanbul", {3}),
    ("fine", {3}),  # the ligature ﬁ folds to fi
    ("after", {3}),  # past a NUL
    ('"after nul"', {3}),
    ('"on after"', set()),  # NUL parts a field as a separator does
    # Characters that mean something to SQL or to FTS5 are text.
    ("'", {2}),
    ('"it\'s"', {2}),
    ('"\\""', {2, 3}),
    ('"quote \\" here"', {3}),
    (";", {2}),
    ('"--"', {2}),
    ('"-- drop table"', {2}),
    ("100%", {2}),
    ("%", {2}),
    ("_x_", {2}),
    ("_", {2}),
    ("*star", {3}),
    ("^start", {3}),
    ('"col:on"', {3}),
    ('"or" "and"', set()),
    ('"near"', set()),
    # Flags, dates, sizes.
    ("is:read", {1}),
    ("is:unread", {2, 3}),
    ("has:attachment", {1, 3}),
    ("after:2024-05-31", {1, 3}),
    ("before:2024-05-31", {2}),
    ("-after:2024-05-31", {2}),
    ("after:2024-06-01", {3}),
    ("before:2024-06-01", {1, 2}),
    ("larger:500", {1, 3}),
    ("smaller:501", {2}),
    ("larger:2K", set()),
    ("smaller:2K", {2, 3}),
    ("larger:0", {1, 2, 3}),
    # Negation and AND.
    ("-invoice", {2, 3}),
    ("-a", set()),
    ("-in", {2}),
    ("invoice -is:read", set()),
    ("alice -from:alice", {2}),
    ("com is:unread -has:attachment", {2}),
    ('-"\'" -nowhere', {1, 3}),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_a_query_selects_the_rows_it_matches(text: str, expected: set[int]) -> None:
    query = parse_query(text)
    assert {i for i, r in enumerate(RECORDS, start=1) if query.matches(r)} == expected
    with index_of(RECORDS) as connection:
        assert found(connection, query) == expected


def test_the_empty_query_is_true() -> None:
    assert where(Query()) == Condition("1", ())


def test_every_value_is_a_parameter() -> None:
    query = parse_query('"\'; DROP TABLE messages; --" from:"x\'y" larger:1K after:2024-01-01')
    condition = where(query)
    assert "DROP" not in condition.sql and "'" not in condition.sql
    assert condition.sql.count("?") == len(condition.params)
    assert "'; drop table messages; --" in condition.params


def test_the_alias_names_the_messages_table() -> None:
    condition = where(parse_query("invoice is:read larger:1"), alias="msg")
    assert " m." not in condition.sql
    with index_of(RECORDS) as connection:
        sql = f"SELECT msg.rowid FROM messages AS msg WHERE {condition.sql}"
        assert [row for (row,) in connection.execute(sql, condition.params)] == [1]


@pytest.mark.parametrize("alias", ["", "m.x", "m; DROP", "1m", "m m"])
def test_an_alias_is_a_plain_identifier(alias: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        where(Query(), alias=alias)


def test_terms_built_directly_compile_too() -> None:
    query = Query(
        (
            TextTerm(("hello", "world")),
            Not(FieldTerm(Field.FROM, ("alice",))),
            DateTerm(Field.BEFORE, date(2024, 5, 31)),
        )
    )
    with index_of(RECORDS) as connection:
        assert found(connection, query) == {2}


def test_search_columns_hold_the_folded_parts() -> None:
    columns = search_columns(RECORDS[0])
    assert tuple(columns) == schema.SEARCH_COLUMNS
    assert columns["recipients"] == "bob <bob@example.org>\ncarol@example.net"
    assert columns["cc"] == ""
    assert columns["subject"] == "invoice for march"
    assert columns["text"] == "please find the invoice attached. grüsse aus der strasse"
    assert columns["mailbox"] == "bob@example.org"
    assert columns["message_id"] == "<1234@example.org>"
    # The trigram tokenizer stops at NUL: it is stored as the separator no needle holds.
    assert search_columns(RECORDS[2])["text"].endswith("col:on\nafter nul fine")


def test_message_columns_as_stored() -> None:
    assert message_columns(RECORDS[1]) == {
        "received": 1_717_113_599_999_999,
        "size": 500,
        "attachments": 0,
        "seen": 0,
    }
    early = record(received=datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), read=True)
    assert message_columns(early)["received"] == -1
    assert message_columns(early)["seen"] == 1


def test_fts_match_ands_the_trigrams_quoted() -> None:
    assert fts_match("ab") is None
    assert fts_match("abc") == '"abc"'
    assert fts_match('a"b c') == '"a""b" AND """b " AND "b c"'
    assert fts_match("aaaaa") == '"aaa"'


@pytest.mark.parametrize("text", ["invoice", "from:alice", "-subject:été", "to:bob@example.org"])
def test_a_word_is_decided_by_the_index_terms_not_the_stored_text(text: str) -> None:
    # The tokens holding the word, ORed into one MATCH: no row's text is read.
    condition = where(parse_query(text))
    assert "instr(search." not in condition.sql and "search MATCH" in condition.sql


def test_a_phrase_and_a_character_are_decided_on_the_stored_text() -> None:
    assert "instr(search." in where(parse_query('"two words"')).sql
    assert "search MATCH" not in where(parse_query("x")).sql
