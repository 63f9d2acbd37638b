"""The SQL of a query selects exactly the records `Query.matches`, over generated records and
queries from a small alphabet (case pairs, ß, İ, combining accents, whitespace, NUL, FTS5's
and SQL's own syntax) so that hits are frequent; and FTS5's trigrams never lose a word."""

from __future__ import annotations

import os
import sqlite3
import string
import sys
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from postier.store.index import schema
from postier.store.index.search_sql import fts_match, tokens, word_match
from postier.store.index.words import KnownWords
from postier.store.query import (
    MAX_SIZE,
    Atom,
    DateTerm,
    Field,
    FieldTerm,
    Flag,
    FlagTerm,
    Not,
    Query,
    SearchRecord,
    SizeTerm,
    TagTerm,
    Term,
    TextTerm,
    fold,
    parse_query,
)
from postier.store.query.record import allowed
from tests.store.test_search_sql import found, index_of

MAX_EXAMPLES = int(os.environ.get("POSTIER_SEARCH_SQL_EXAMPLES", "300"))
"""Examples per agreement test; a long local run sets POSTIER_SEARCH_SQL_EXAMPLES=5000."""

PIECES = [
    *"aAbB sS\t\n\u00a0\u2028\"'*^:()%_@<>-;",
    *"éÉßİi\u0307\u0301\u212aKﬁ",
    "e\u0301",
    "SS",
    "ab",
    "ss",
]
RECORD_PIECES = st.sampled_from([*PIECES, "\x00", "\x01", "\x7f", "\x9f", "\ufffe", "\ufffd"])
"""A record may also hold control characters (which end a token, or, from U+0080 on, do
not) and what SQLite's trigrams read as U+FFFD; a query cannot."""
record_text = st.lists(RECORD_PIECES, max_size=16).map("".join)
zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])


def _near_midnight(day: date, offset: int, zone: timezone) -> datetime:
    """The first microsecond of `day` (UTC) moved by `offset` microseconds: where `after:`
    and `before:` change their answer, written in another zone."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (start + timedelta(microseconds=offset)).astimezone(zone)


records = st.builds(
    SearchRecord,
    mailbox=record_text,
    sender=record_text,
    to=st.lists(record_text, max_size=3).map(tuple),
    cc=st.lists(record_text, max_size=3).map(tuple),
    subject=record_text,
    message_id=record_text,
    text=record_text,
    received=st.one_of(
        st.datetimes(datetime(2023, 12, 31), datetime(2024, 1, 4), timezones=zones),
        st.builds(
            _near_midnight,
            st.dates(date(2023, 12, 31), date(2024, 1, 4)),
            st.integers(-1, 0),
            zones,
        ),
    ),
    size=st.integers(0, 8),
    attachments=st.integers(0, 2),
    read=st.booleans(),
    tags=st.lists(st.sampled_from(["Invoice", "big deal", "decoy", "a"]), max_size=3).map(
        lambda tags: tuple(dict.fromkeys(tags))
    ),
)

words = (
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=4)
    .map(lambda parts: fold("".join(parts)))
    .filter(bool)
    .map(lambda folded: tuple(folded.split(" ")))
)
text_fields = st.sampled_from(
    [Field.FROM, Field.TO, Field.CC, Field.SUBJECT, Field.MESSAGE_ID, Field.MAILBOX]
)
atoms: st.SearchStrategy[Atom] = st.one_of(
    st.builds(TextTerm, words),
    st.builds(FieldTerm, text_fields, words),
    st.builds(FlagTerm, st.sampled_from(Flag)),
    st.builds(TagTerm, st.sampled_from([("invoice",), ("big", "deal"), ("decoy",), ("b",)])),
    st.builds(
        DateTerm,
        st.sampled_from([Field.BEFORE, Field.AFTER]),
        st.dates(date(2023, 12, 30), date(2024, 1, 5)),
    ),
    st.builds(
        SizeTerm,
        st.sampled_from([Field.LARGER, Field.SMALLER]),
        st.integers(0, 9) | st.just(MAX_SIZE),
    ),
)
terms: st.SearchStrategy[Term] = st.one_of(atoms, atoms.map(Not))


def _piece_of(record: SearchRecord, data: st.DataObject) -> tuple[str, ...] | None:
    """Words cut from one of the record's folded parts, so that the term surely matches it;
    or from the end of one part and the start of the next, as if they were joined by a
    space, so that it must not match there (a part is never searched across)."""
    r = record
    every = (r.subject, r.sender, *r.to, *r.cc, r.text, r.message_id, r.mailbox)
    parts = [fold(p).replace("\x00", " ") for p in every]
    parts = [p for p in parts if p.strip(" ")]
    if not parts:
        return None
    k = data.draw(st.integers(0, len(parts) - 1))
    if k + 1 < len(parts) and data.draw(st.booleans()):
        tail = data.draw(st.integers(1, len(parts[k])))
        head = data.draw(st.integers(1, len(parts[k + 1])))
        part = parts[k][-tail:] + " " + parts[k + 1][:head]
    else:
        start = data.draw(st.integers(0, len(parts[k]) - 1))
        end = data.draw(st.integers(start + 1, min(len(parts[k]), start + 8)))
        part = parts[k][start:end]
    # A query cannot hold a control character: a space there, which must not match it.
    piece = fold("".join(c if allowed(c) else " " for c in part))
    if not piece or fold(piece) != piece:
        return None
    return tuple(piece.split(" "))


def _agrees(records: list[SearchRecord], query: Query) -> None:
    """Each term alone, and the whole query, select what `matches` says."""
    with index_of(records) as connection:
        for each in (*(Query((term,)) for term in query.terms), query):
            expected = {i for i, r in enumerate(records, start=1) if each.matches(r)}
            assert found(connection, each) == expected, each.render()
            # The query's text means the same.
            assert found(connection, parse_query(each.render())) == expected
            # A word alone: its FTS5 query on `search` selects the same rows.
            match = word_match(each)
            if match is not None:
                (fts,) = connection.execute(f"SELECT {match.sql}", match.params).fetchone()
                sql = "SELECT rowid FROM search WHERE search MATCH ?"
                assert {row for (row,) in connection.execute(sql, (fts,))} == expected


@settings(max_examples=MAX_EXAMPLES)
@given(st.lists(records, max_size=8), st.lists(terms, min_size=1, max_size=4))
def test_the_sql_selects_exactly_the_matching_records(
    records: list[SearchRecord], chosen: list[Term]
) -> None:
    _agrees(records, Query(tuple(chosen)))


@settings(max_examples=MAX_EXAMPLES)
@given(st.lists(records, min_size=1, max_size=6), st.data())
def test_a_term_cut_from_a_record_selects_exactly_the_matching_records(
    records: list[SearchRecord], data: st.DataObject
) -> None:
    cut = _piece_of(data.draw(st.sampled_from(records)), data)
    if cut is None:
        return
    field = data.draw(st.none() | text_fields)
    atom: Atom = TextTerm(cut) if field is None else FieldTerm(field, cut)
    negated = data.draw(st.booleans())
    _agrees(records, Query((Not(atom) if negated else atom,)))


def _contains(connection: sqlite3.Connection, needle: str) -> bool:
    match = fts_match(needle)
    assert match is not None
    sql = "SELECT rowid FROM words_trigrams WHERE words_trigrams MATCH ?"
    return bool(connection.execute(sql, (match,)).fetchall())


# Any character but NUL (stored as a newline) and the surrogates (which cannot be stored).
stored_characters = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


@settings(max_examples=200)
@given(st.text(stored_characters, min_size=3, max_size=40), st.integers(0), st.integers(3))
@example("\ufffe\uffff\ufffd\U0010ffff", 0, 4)  # SQLite may read some as U+FFFD
@example("x\u0301\u0301\u0301", 1, 3)  # combining marks alone
def test_the_trigram_match_keeps_every_row_holding_the_needle(
    text: str, start: int, length: int
) -> None:
    start %= len(text) - 2
    needle = text[start : start + 3 + length % (len(text) - start - 2)]
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.executescript(schema.TABLES)
        words = KnownWords()
        words.add(connection, {text})
        words.before_commit(connection)
        assert _contains(connection, needle)


def test_folded_text_holds_no_ascii_capital() -> None:
    # FTS5's ascii tokenizer lowercases A-Z: were one stored, its token would not be a word.
    capitals = set(string.ascii_uppercase)
    assert not [c for c in range(sys.maxunicode + 1) if capitals & set(fold(chr(c)))]


@settings(max_examples=MAX_EXAMPLES)
@given(st.lists(st.sampled_from([*PIECES, "\x00", "\x01", "\x7f", "\x9f", "x"]), max_size=30))
def test_the_words_of_a_column_are_the_terms_fts5_indexes(pieces: list[str]) -> None:
    value = fold("".join(pieces)).replace("\x00", "\n")
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.executescript(schema.TABLES)
        connection.execute("INSERT INTO search(rowid, text) VALUES (1, ?)", (value,))
        connection.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(search, 'row')")
        terms = {term for (term,) in connection.execute("SELECT term FROM terms")}
    assert terms == tokens({"text": value})
