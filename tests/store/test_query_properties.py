"""The search language over generated input: any text parses or is a QueryError, quickly;
rendering round-trips; negation and AND mean what they say; and the matching agrees with
an independent formulation of the semantics (regular expressions over the raw fields)."""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from postier.store.query import (
    MAX_QUERY_LENGTH,
    MAX_SIZE,
    Atom,
    DateTerm,
    Field,
    FieldTerm,
    Flag,
    FlagTerm,
    Not,
    Query,
    QueryError,
    SearchRecord,
    SizeTerm,
    TagTerm,
    Term,
    TextTerm,
    fold,
    parse_query,
)

PARSE_DEADLINE = timedelta(milliseconds=200)
"""Per example, a whole query of up to MAX_QUERY_LENGTH characters (it takes well under a
millisecond; the margin is for a loaded machine)."""

# Characters that make the parser work: quotes, escapes, dashes, colons, field names,
# whitespace of several kinds, case pairs that fold, and NUL (the other characters a
# query refuses come from `any_text` and `surrogates`).
SYNTAX = st.sampled_from(
    [
        *'"\\-: \t\n',
        "\u00a0",
        "\u2028",
        "\x00",
        "a",
        "É",
        "ß",
        "K",
        "\u212a",
        "0",
        "9",
        ".",
        "e\u0301",
        *[f"{f.value}:" for f in Field],
        "FROM:",
        "foo:",
        "read",
        "unread",
        "attachment",
        "2024-05-31",
        "2024-02-30",
        "1.5M",
        "kb",
    ]
)
query_like = st.lists(SYNTAX, max_size=60).map("".join)
any_text = st.text(st.characters(), max_size=200)
surrogates = st.text(st.characters(categories=["Cs", "Ll", "Zs"]), max_size=20)


def _parses_or_refuses(source: str) -> None:
    try:
        parsed = parse_query(source)
    except QueryError as error:
        message = str(error)
        assert message and len(message.splitlines()) == 1 and len(message) < 400
        assert error.column is None or 1 <= error.column <= len(source)
    else:
        # What parses renders to canonical text, which is a fixed point.
        assert parse_query(parsed.render()) == parsed


@settings(deadline=PARSE_DEADLINE, max_examples=500)
@given(st.one_of(query_like, any_text, surrogates))
@example("x" * MAX_QUERY_LENGTH)
@example('"' * MAX_QUERY_LENGTH)
@example("\\" * (MAX_QUERY_LENGTH - 2) + '""')
@example('"' + "\\" * (MAX_QUERY_LENGTH - 1))
@example("- " * (MAX_QUERY_LENGTH // 2))
@example("a:" * (MAX_QUERY_LENGTH // 2))
@example("larger:" + "9" * (MAX_QUERY_LENGTH - 7))
@example("larger:0." + "9" * (MAX_QUERY_LENGTH - 10) + "G")
def test_any_text_parses_or_raises_a_query_error(source: str) -> None:
    _parses_or_refuses(source)


@settings(deadline=PARSE_DEADLINE, max_examples=50)
@given(
    st.text(st.sampled_from('ab "\\-:é'), min_size=MAX_QUERY_LENGTH - 50).map(
        lambda s: s[:MAX_QUERY_LENGTH]
    )
)
def test_long_queries_are_cheap(source: str) -> None:
    _parses_or_refuses(source)


# Queries, built from their terms.

WORD_ALPHABET = st.sampled_from([*'aAbéÉßsS"\\-:.<>@ \t\u00a0\u212a', "e\u0301"])
words = (
    st.lists(WORD_ALPHABET, min_size=1, max_size=12)
    .map(lambda parts: fold("".join(parts)))
    .filter(bool)
    .map(lambda folded: tuple(folded.split(" ")))
)
text_fields = st.sampled_from(
    [Field.FROM, Field.TO, Field.CC, Field.SUBJECT, Field.MESSAGE_ID, Field.MAILBOX]
)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 1, 10))
sizes = st.one_of(
    st.integers(0, 4096),
    st.integers(0, 4).map(lambda n: n << 10),
    st.integers(0, MAX_SIZE),
)
atoms: st.SearchStrategy[Atom] = st.one_of(
    st.builds(TextTerm, words),
    st.builds(FieldTerm, text_fields, words),
    st.builds(FlagTerm, st.sampled_from(Flag)),
    st.builds(TagTerm, st.one_of(words, st.sampled_from([("invoice",), ("big", "deal"), ("a",)]))),
    st.builds(DateTerm, st.sampled_from([Field.BEFORE, Field.AFTER]), days),
    st.builds(SizeTerm, st.sampled_from([Field.LARGER, Field.SMALLER]), sizes),
)
terms: st.SearchStrategy[Term] = st.one_of(atoms, atoms.map(Not))
queries = st.lists(terms, max_size=8).map(lambda ts: Query(tuple(ts)))


@given(queries)
def test_a_rendered_query_parses_back_to_itself(query: Query) -> None:
    assert parse_query(query.render()) == query
    assert parse_query(str(query)) == query


@given(atoms, atoms)
def test_terms_combine_in_text_as_in_the_tree(a: Atom, b: Atom) -> None:
    assert parse_query(f"-{a.render()}") == Query((Not(a),))
    assert parse_query(f"{a.render()}\t {b.render()}") == Query((a, b))


# Records, from the same small alphabet as the words, so that terms often match.

TEXT_ALPHABET = st.sampled_from(
    [*'aAbéÉßsS"\\-:.<>@ \t\n\u00a0\u2028\u212a', "e\u0301", "SS", "\x00"]
)
record_text = st.lists(TEXT_ALPHABET, max_size=20).map("".join)
zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
records = st.builds(
    SearchRecord,
    mailbox=record_text,
    sender=record_text,
    to=st.lists(record_text, max_size=3).map(tuple),
    cc=st.lists(record_text, max_size=3).map(tuple),
    subject=record_text,
    message_id=record_text,
    text=record_text,
    received=st.datetimes(
        min_value=datetime(2023, 12, 31), max_value=datetime(2024, 1, 12), timezones=zones
    ),
    size=st.one_of(st.integers(0, 4096), st.integers(0, 4).map(lambda n: n << 10)),
    attachments=st.integers(0, 3),
    read=st.booleans(),
    tags=st.lists(st.sampled_from(["Invoice", "big deal", "a", "A b"]), max_size=3).map(tuple),
)


@given(terms, records)
def test_a_negated_term_matches_exactly_when_the_term_does_not(
    term: Term, record: SearchRecord
) -> None:
    if isinstance(term, Not):
        term = term.term
    assert Query((Not(term),)).matches(record) is not Query((term,)).matches(record)
    negated = parse_query(f"-{term.render()}")
    assert negated.matches(record) is not parse_query(term.render()).matches(record)


@given(terms, terms, records)
def test_two_terms_match_exactly_when_both_do(a: Term, b: Term, record: SearchRecord) -> None:
    both = parse_query(f"{a.render()} {b.render()}").matches(record)
    assert both == (Query((a,)).matches(record) and Query((b,)).matches(record))


@given(queries, records)
def test_a_query_matches_exactly_when_every_term_does(query: Query, record: SearchRecord) -> None:
    assert query.matches(record) == all(Query((t,)).matches(record) for t in query.terms)


@given(records)
def test_the_empty_query_matches_everything(record: SearchRecord) -> None:
    assert parse_query("").matches(record)


# An independent formulation: a regular expression over each raw field, case-folded.


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\s+".join(map(re.escape, words)))


def _found(words: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    pattern = _pattern(words)
    return any(pattern.search(unicodedata.normalize("NFC", p.casefold())) for p in parts)


def _oracle(atom: Atom, r: SearchRecord) -> bool:
    match atom:
        case TextTerm(words):
            return _found(words, (r.subject, r.sender, *r.to, *r.cc, r.text))
        case FieldTerm(field, words):
            parts = {
                Field.FROM: (r.sender,),
                Field.TO: r.to,
                Field.CC: r.cc,
                Field.SUBJECT: (r.subject,),
                Field.MESSAGE_ID: (r.message_id,),
                Field.MAILBOX: (r.mailbox,),
            }[field]
            return _found(words, parts)
        case FlagTerm(Flag.READ):
            return r.read
        case FlagTerm(Flag.UNREAD):
            return not r.read
        case FlagTerm(Flag.TAGGED):
            return bool(r.tags)
        case FlagTerm(_):
            return r.attachments >= 1
        case TagTerm(words):
            return " ".join(words) in {tag.lower() for tag in r.tags}
        case DateTerm(Field.AFTER, day):
            return r.received.astimezone(UTC).date() >= day
        case DateTerm(_, day):
            return r.received.astimezone(UTC).date() < day
        case SizeTerm(Field.LARGER, size):
            return r.size > size
        case SizeTerm(_, size):
            return r.size < size
    raise AssertionError(atom)


@settings(max_examples=500)
@given(atoms, records)
def test_matching_agrees_with_regular_expressions_over_the_raw_fields(
    atom: Atom, record: SearchRecord
) -> None:
    assert Query((atom,)).matches(record) == _oracle(atom, record)


@given(records, st.data())
def test_a_phrase_taken_from_a_field_finds_it(record: SearchRecord, data: st.DataObject) -> None:
    subject = fold(record.subject)
    if not subject:
        return
    start = data.draw(st.integers(0, len(subject) - 1))
    end = data.draw(st.integers(start + 1, len(subject)))
    piece = subject[start:end].strip(" ")
    # A query cannot hold NUL; a slice of folded text is folded text but for a cut accent.
    assume(piece and "\x00" not in piece and fold(piece) == piece)
    words = tuple(piece.split(" "))
    assert Query((FieldTerm(Field.SUBJECT, words),)).matches(record)
    assert Query((TextTerm(words),)).matches(record)


# Folding.


@given(st.lists(st.one_of(st.characters(), WORD_ALPHABET)).map("".join))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_fold_is_idempotent_on_every_character() -> None:
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        assert fold(fold(character)) == fold(character), hex(code)
