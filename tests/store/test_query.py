"""The search language by example: what each text parses to, how it renders, every error
message, and which messages each query matches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import postier.store.query as query_module
from postier.store.query import (
    MAX_QUERY_LENGTH,
    MAX_SIZE,
    MAX_TERMS,
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
    Term,
    TextTerm,
    fold,
    parse_query,
)


def q(*terms: Term) -> Query:
    return Query(terms)


def text(*words: str) -> TextTerm:
    return TextTerm(words)


def field(name: Field, *words: str) -> FieldTerm:
    return FieldTerm(name, words)


KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

PARSES: list[tuple[str, Query]] = [
    # Empty and whitespace-only queries match everything.
    ("", q()),
    ("   ", q()),
    ("\t\n \u00a0\u3000", q()),
    # Bare words and phrases.
    ("invoice", q(text("invoice"))),
    ("Invoice", q(text("invoice"))),
    ("two words", q(text("two"), text("words"))),
    ("  two \t words\n", q(text("two"), text("words"))),
    ('"two words"', q(text("two", "words"))),
    ('"  two \t\n words  "', q(text("two", "words"))),
    ('"two\u00a0words"', q(text("two", "words"))),
    ('"one"', q(text("one"))),
    ('"a" "b"', q(text("a"), text("b"))),
    ('"a"\t"b c"', q(text("a"), text("b", "c"))),
    # Case folding beyond ASCII: full folding, not lower().
    ("ÉTÉ", q(text("été"))),
    ("Straße", q(text("strasse"))),
    ("STRASSE", q(text("strasse"))),
    ("ΣΊΣΥΦΟΣ", q(text("σίσυφοσ"))),
    ("ﬁle", q(text("file"))),
    ("\u212aelvin", q(text("kelvin"))),
    # Canonically equivalent spellings fold alike (NFC).
    ("e\u0301te\u0301", q(text("été"))),
    # Words that look like fields but are not: not ASCII letters before the colon.
    ("10:30", q(text("10:30"))),
    (":x", q(text(":x"))),
    ("a.b:c", q(text("a.b:c"))),
    ("été:x", q(text("été:x"))),
    ("a_b:c", q(text("a_b:c"))),
    # Quoting makes anything text, fields included.
    ('"from:alice"', q(text("from:alice"))),
    ('"foo:bar baz"', q(text("foo:bar", "baz"))),
    # Escapes in a phrase: \" and \\; any other backslash is itself.
    (r'"say \"hi\""', q(text("say", '"hi"'))),
    (r'"back\\slash"', q(text("back\\slash"))),
    (r'"c:\dir"', q(text("c:\\dir"))),
    (r"a\b", q(text("a\\b"))),
    # Negation.
    ("-spam", q(Not(text("spam")))),
    ('-"two words"', q(Not(text("two", "words")))),
    ("--x", q(Not(text("-x")))),
    ('"-x"', q(text("-x"))),
    ("a-b", q(text("a-b"))),
    ("x-", q(text("x-"))),
    # Text fields, any case, bare or quoted values.
    ("from:alice", q(field(Field.FROM, "alice"))),
    ("FROM:Alice@Example.ORG", q(field(Field.FROM, "alice@example.org"))),
    ("to:bob", q(field(Field.TO, "bob"))),
    ("To:bob", q(field(Field.TO, "bob"))),
    ("cc:carol", q(field(Field.CC, "carol"))),
    ("subject:hello", q(field(Field.SUBJECT, "hello"))),
    ('subject:"two words"', q(field(Field.SUBJECT, "two", "words"))),
    ('subject:"two   words"', q(field(Field.SUBJECT, "two", "words"))),
    ("subject:ÉTÉ", q(field(Field.SUBJECT, "été"))),
    ("subject:STRASSE", q(field(Field.SUBJECT, "strasse"))),
    ("subject:from:x", q(field(Field.SUBJECT, "from:x"))),
    ("subject:-x", q(field(Field.SUBJECT, "-x"))),
    ("message-id:<a.b@c>", q(field(Field.MESSAGE_ID, "<a.b@c>"))),
    ("Message-ID:X@Y", q(field(Field.MESSAGE_ID, "x@y"))),
    ("mailbox:alice@example.org", q(field(Field.MAILBOX, "alice@example.org"))),
    ("from:a:b", q(field(Field.FROM, "a:b"))),
    ('from:"Alice Dupont"', q(field(Field.FROM, "alice", "dupont"))),
    (r'from:"a\"b"', q(field(Field.FROM, 'a"b'))),
    ("-from:alice", q(Not(field(Field.FROM, "alice")))),
    ('-subject:"re: hi"', q(Not(field(Field.SUBJECT, "re:", "hi")))),
    # Flags.
    ("is:read", q(FlagTerm(Flag.READ))),
    ("is:unread", q(FlagTerm(Flag.UNREAD))),
    ("IS:READ", q(FlagTerm(Flag.READ))),
    ('is:"unread"', q(FlagTerm(Flag.UNREAD))),
    ("-is:read", q(Not(FlagTerm(Flag.READ)))),
    ("has:attachment", q(FlagTerm(Flag.ATTACHMENT))),
    ("has:attachments", q(FlagTerm(Flag.ATTACHMENT))),
    ("Has:Attachment", q(FlagTerm(Flag.ATTACHMENT))),
    # Dates.
    ("before:2024-05-31", q(DateTerm(Field.BEFORE, date(2024, 5, 31)))),
    ("after:2024-02-29", q(DateTerm(Field.AFTER, date(2024, 2, 29)))),
    ("AFTER:0001-01-01", q(DateTerm(Field.AFTER, date(1, 1, 1)))),
    ("before:9999-12-31", q(DateTerm(Field.BEFORE, date(9999, 12, 31)))),
    ('before:"2024-05-31"', q(DateTerm(Field.BEFORE, date(2024, 5, 31)))),
    ("-after:2024-01-01", q(Not(DateTerm(Field.AFTER, date(2024, 1, 1))))),
    # Sizes: powers of 1024, units in any case, decimals rounded down.
    ("larger:0", q(SizeTerm(Field.LARGER, 0))),
    ("larger:100", q(SizeTerm(Field.LARGER, 100))),
    ("larger:100b", q(SizeTerm(Field.LARGER, 100))),
    ("larger:100B", q(SizeTerm(Field.LARGER, 100))),
    ("larger:2k", q(SizeTerm(Field.LARGER, 2 * KIB))),
    ("larger:2KB", q(SizeTerm(Field.LARGER, 2 * KIB))),
    ("larger:2kB", q(SizeTerm(Field.LARGER, 2 * KIB))),
    ("smaller:3M", q(SizeTerm(Field.SMALLER, 3 * MIB))),
    ("smaller:3mb", q(SizeTerm(Field.SMALLER, 3 * MIB))),
    ("smaller:1G", q(SizeTerm(Field.SMALLER, GIB))),
    ("smaller:1gb", q(SizeTerm(Field.SMALLER, GIB))),
    ("larger:1.5K", q(SizeTerm(Field.LARGER, 1536))),
    ("larger:0.5", q(SizeTerm(Field.LARGER, 0))),
    ("larger:1.0009765625K", q(SizeTerm(Field.LARGER, 1025))),
    ("larger:1.9999B", q(SizeTerm(Field.LARGER, 1))),
    ("larger:007", q(SizeTerm(Field.LARGER, 7))),
    ("larger:8589934591G", q(SizeTerm(Field.LARGER, 8589934591 * GIB))),
    (f"larger:{MAX_SIZE}", q(SizeTerm(Field.LARGER, MAX_SIZE))),
    ("-smaller:1M", q(Not(SizeTerm(Field.SMALLER, MIB)))),
    # Everything together.
    (
        'from:alice -is:read invoice "due date" after:2024-01-01 larger:10K',
        q(
            field(Field.FROM, "alice"),
            Not(FlagTerm(Flag.READ)),
            text("invoice"),
            text("due", "date"),
            DateTerm(Field.AFTER, date(2024, 1, 1)),
            SizeTerm(Field.LARGER, 10 * KIB),
        ),
    ),
]


@pytest.mark.parametrize(("source", "expected"), PARSES)
def test_parse(source: str, expected: Query) -> None:
    parsed = parse_query(source)
    assert parsed == expected
    assert parse_query(parsed.render()) == parsed


RENDERS = [
    ("", ""),
    ("  Invoice  ", "invoice"),
    ('"two   Words"', '"two words"'),
    ('"one"', "one"),
    ('"from:x"', '"from:x"'),
    ('"-x"', '"-x"'),
    ("--x", '-"-x"'),
    (r'"a\"b"', r'"a\"b"'),
    (r'"a\\b"', r"a\b"),
    (r"a\b", r"a\b"),
    ('FROM:"Alice"', "from:alice"),
    ('subject:"Two  Words"', 'subject:"two words"'),
    (r'from:"a\"b"', r'from:"a\"b"'),
    ("subject:-x", "subject:-x"),
    ("IS:Unread Has:Attachments", "is:unread has:attachment"),
    ('after:"2024-01-02"', "after:2024-01-02"),
    ("larger:1024", "larger:1K"),
    ("larger:1.5m", "larger:1536K"),
    ("larger:2048MB", "larger:2G"),
    ("larger:1000", "larger:1000"),
    ("smaller:0k", "smaller:0"),
    ("a\t-b\n c", "a -b c"),
]


@pytest.mark.parametrize(("source", "canonical"), RENDERS)
def test_render(source: str, canonical: str) -> None:
    parsed = parse_query(source)
    assert parsed.render() == canonical
    assert str(parsed) == canonical
    assert parse_query(canonical) == parsed


FIELDS = (
    "from:, to:, cc:, subject:, message-id:, mailbox:, tag:, is:, has:, before:, after:,"
    " larger:, smaller:"
)
FULLWIDTH_DAY = "2024-05-31".translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
SIZE_HELP = "a number and an optional unit B, K, M or G (powers of 1024), like 500K or 1.5M"

ERRORS: list[tuple[str, str, int | None]] = [
    (
        "x" * (MAX_QUERY_LENGTH + 1),
        f"the query is {MAX_QUERY_LENGTH + 1} characters long; at most {MAX_QUERY_LENGTH}"
        " are allowed",
        None,
    ),
    (
        " ".join(["a"] * (MAX_TERMS + 1)),
        f"the query has more than {MAX_TERMS} terms; at most {MAX_TERMS} are allowed",
        None,
    ),
    ("ab\x00c", "character U+0000 at column 3 is not allowed in a query", 3),
    ("\x1b[31m", "character U+001B at column 1 is not allowed in a query", 1),
    ("x \x7f", "character U+007F at column 3 is not allowed in a query", 3),
    ("a\ud800", "character U+D800 at column 2 is not allowed in a query", 2),
    (
        "foo:bar",
        f"unknown field 'foo:' at column 1; the fields are {FIELDS}"
        " (to search for the text itself, put it in quotes)",
        1,
    ),
    (
        "ok -Body:x",
        f"unknown field 'Body:' at column 5; the fields are {FIELDS}"
        " (to search for the text itself, put it in quotes)",
        5,
    ),
    (
        "http://example.org",
        f"unknown field 'http:' at column 1; the fields are {FIELDS}"
        " (to search for the text itself, put it in quotes)",
        1,
    ),
    (
        "y" * 50 + ":z",
        f"unknown field '{'y' * 40}…:' at column 1; the fields are {FIELDS}"
        " (to search for the text itself, put it in quotes)",
        1,
    ),
    ('"abc', 'the quote at column 1 is never closed; add a closing "', 1),
    ('a "two words', 'the quote at column 3 is never closed; add a closing "', 3),
    ('subject:"two', 'the quote at column 9 is never closed; add a closing "', 9),
    (r'"abc\"', 'the quote at column 1 is never closed; add a closing "', 1),
    (
        '"abc"def',
        "the quote that closes at column 5 must be followed by a space or the end of the query",
        5,
    ),
    (
        'from:"a"b',
        "the quote that closes at column 8 must be followed by a space or the end of the query",
        8,
    ),
    (
        'ab"c"',
        "unexpected quote at column 3; a quote opens a phrase at the start of a term or of a"
        ' field\'s value, as in "two words" or subject:"two words"',
        3,
    ),
    (
        'from:al"ice',
        "unexpected quote at column 8; a quote opens a phrase at the start of a term or of a"
        ' field\'s value, as in "two words" or subject:"two words"',
        8,
    ),
    (
        "-",
        "the '-' at column 1 has nothing after it; put the term to leave out right after it,"
        " as in -from:alice",
        1,
    ),
    (
        "a - b",
        "the '-' at column 3 has nothing after it; put the term to leave out right after it,"
        " as in -from:alice",
        3,
    ),
    (
        "spam -",
        "the '-' at column 6 has nothing after it; put the term to leave out right after it,"
        " as in -from:alice",
        6,
    ),
    ('""', "the quotes at column 1 hold no words; put the text to find between them", 1),
    ('x -"  "', "the quotes at column 4 hold no words; put the text to find between them", 4),
    (
        "from:",
        "'from:' at column 1 has no value; put it right after the colon, as in from:alice",
        1,
    ),
    (
        "from: alice",
        "'from:' at column 1 has no value; put it right after the colon, as in from:alice",
        1,
    ),
    (
        "TO:",
        "'to:' at column 1 has no value; put it right after the colon, as in to:bob@example.org",
        1,
    ),
    ("cc:", "'cc:' at column 1 has no value; put it right after the colon, as in cc:carol", 1),
    (
        'subject:""',
        "'subject:' at column 1 has no value; put it right after the colon, as in"
        ' subject:"two words"',
        1,
    ),
    (
        "message-id:",
        "'message-id:' at column 1 has no value; put it right after the colon, as in"
        " message-id:1234@example.org",
        1,
    ),
    (
        "-mailbox:",
        "'mailbox:' at column 2 has no value; put it right after the colon, as in"
        " mailbox:alice@example.org",
        2,
    ),
    (
        "is:",
        "'is:' at column 1 has no value; put it right after the colon, as in is:unread",
        1,
    ),
    (
        "has:",
        "'has:' at column 1 has no value; put it right after the colon, as in has:attachment",
        1,
    ),
    (
        "before:",
        "'before:' at column 1 has no value; put it right after the colon, as in before:2024-05-31",
        1,
    ),
    (
        "after:",
        "'after:' at column 1 has no value; put it right after the colon, as in after:2024-05-31",
        1,
    ),
    (
        "larger:",
        "'larger:' at column 1 has no value; put it right after the colon, as in larger:1M",
        1,
    ),
    (
        "smaller:",
        "'smaller:' at column 1 has no value; put it right after the colon, as in smaller:500K",
        1,
    ),
    ("is:seen", "'is:' at column 1 takes read, unread or tagged, not 'seen'", 1),
    ("is:attachment", "'is:' at column 1 takes read, unread or tagged, not 'attachment'", 1),
    ("has:READ", "'has:' at column 1 takes attachment, not 'READ'", 1),
    ('x is:"re ad"', "'is:' at column 3 takes read, unread or tagged, not 're ad'", 3),
    (
        "before:2024-5-31",
        "'before:' at column 1 needs a date as YYYY-MM-DD, like 2024-05-31, not '2024-5-31'",
        1,
    ),
    (
        "after:yesterday",
        "'after:' at column 1 needs a date as YYYY-MM-DD, like 2024-05-31, not 'yesterday'",
        1,
    ),
    (
        "after:2024-05-31T10:00",
        "'after:' at column 1 needs a date as YYYY-MM-DD, like 2024-05-31, not '2024-05-31T10:00'",
        1,
    ),
    (
        f"after:{FULLWIDTH_DAY}",
        f"'after:' at column 1 needs a date as YYYY-MM-DD, like 2024-05-31, not '{FULLWIDTH_DAY}'",
        1,
    ),
    (
        'before:"2024-05\n-31"',
        "'before:' at column 1 needs a date as YYYY-MM-DD, like 2024-05-31,"
        " not '2024-05\\u000a-31'",
        1,
    ),
    (
        "before:2023-02-29",
        "'before:2023-02-29' at column 1 is not a day of the calendar",
        1,
    ),
    ("after:2024-13-01", "'after:2024-13-01' at column 1 is not a day of the calendar", 1),
    ("after:0000-01-01", "'after:0000-01-01' at column 1 is not a day of the calendar", 1),
    (
        "larger:big",
        f"'larger:' at column 1 needs a size: {SIZE_HELP}, not 'big'",
        1,
    ),
    ("larger:-5", f"'larger:' at column 1 needs a size: {SIZE_HELP}, not '-5'", 1),
    ("larger:5T", f"'larger:' at column 1 needs a size: {SIZE_HELP}, not '5T'", 1),
    ("larger:1.K", f"'larger:' at column 1 needs a size: {SIZE_HELP}, not '1.K'", 1),
    ("larger:.5K", f"'larger:' at column 1 needs a size: {SIZE_HELP}, not '.5K'", 1),
    ("smaller:1KiB", f"'smaller:' at column 1 needs a size: {SIZE_HELP}, not '1KiB'", 1),
    ('smaller:"1 K"', f"'smaller:' at column 1 needs a size: {SIZE_HELP}, not '1 K'", 1),
    ("smaller:1e6", f"'smaller:' at column 1 needs a size: {SIZE_HELP}, not '1e6'", 1),
    (
        f"larger:{MAX_SIZE + 1}",
        f"the size '{MAX_SIZE + 1}' at column 1 is too large; at most {MAX_SIZE} bytes",
        1,
    ),
    (
        "larger:8589934592G",
        f"the size '8589934592G' at column 1 is too large; at most {MAX_SIZE} bytes",
        1,
    ),
]


@pytest.mark.parametrize(("source", "message", "column"), ERRORS)
def test_error_messages(source: str, message: str, column: int | None) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(source)
    assert str(caught.value) == message
    assert caught.value.column == column
    assert len(message.splitlines()) == 1


def test_the_limits_themselves_are_allowed() -> None:
    assert parse_query("x" * MAX_QUERY_LENGTH) == q(text("x" * MAX_QUERY_LENGTH))
    assert len(parse_query(" ".join(["a"] * MAX_TERMS)).terms) == MAX_TERMS


def test_the_first_error_is_reported() -> None:
    with pytest.raises(QueryError, match="column 1"):
        parse_query("foo:x bar:y")


NOON = datetime(2024, 5, 31, 12, tzinfo=UTC)
ALICE = SearchRecord(
    mailbox="bob@example.org",
    sender="Alice Dupont <alice@example.org>",
    to=("Bob <bob@example.org>", "dan@example.net"),
    cc=("Carol <carol@example.com>",),
    subject="Été à Straße: the invoice",
    message_id="<1234.5678@mail.example.org>",
    text="Hello Bob,\n\nthe   invoice is\tdue\non Friday.\n-- \nAlice",
    received=NOON,
    size=2048,
    attachments=1,
    read=False,
)
ZOE = SearchRecord(
    mailbox="alice@example.org",
    sender="zoe@example.net",
    to=("Alice <alice@example.org>",),
    cc=(),
    subject="Lunch?",
    message_id="<z@example.net>",
    text="Pizza at noon",
    received=datetime(2024, 6, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # 22:30 UTC
    size=1024,
    attachments=0,
    read=True,
)
EMPTY = SearchRecord(
    mailbox="",
    sender="",
    to=(),
    cc=(),
    subject="",
    message_id="",
    text="",
    received=datetime(2000, 1, 1, tzinfo=UTC),
    size=0,
    attachments=0,
    read=False,
)
RECORDS = {"alice": ALICE, "zoe": ZOE, "empty": EMPTY}

MATCHES: list[tuple[str, set[str]]] = [
    ("", {"alice", "zoe", "empty"}),
    # Bare words: substrings, of the subject, addresses and text.
    ("invoice", {"alice"}),
    ("INVOICE", {"alice"}),
    ("voic", {"alice"}),
    ("friday", {"alice"}),
    ("dupont", {"alice"}),
    ("dan@example", {"alice"}),
    ("carol", {"alice"}),
    ("example", {"alice", "zoe"}),
    ("pizza", {"zoe"}),
    ("lunch?", {"zoe"}),
    # Not searched by bare words: the mailbox's name and the Message-ID.
    ("1234.5678", set()),
    # Unicode folding.
    ("été", {"alice"}),
    ("ÉTÉ", {"alice"}),
    ("e\u0301te\u0301", {"alice"}),
    ("strasse", {"alice"}),
    ("STRASSE", {"alice"}),
    ("straße", {"alice"}),
    ("à", {"alice"}),
    # Phrases: words in sequence across any whitespace, substrings at the ends.
    ('"the invoice is due"', {"alice"}),
    ('"invoice is due on"', {"alice"}),
    ('"nvoice is du"', {"alice"}),
    ('"is due on friday."', {"alice"}),
    ('"due is"', set()),
    ('"invoice   is"', {"alice"}),
    ('"pizza at noon"', {"zoe"}),
    # A phrase never spans two parts (the subject ends "invoice", the sender starts "alice").
    ('"invoice alice"', set()),
    ('"example.org bob"', set()),
    # AND and negation.
    ("invoice friday", {"alice"}),
    ("invoice pizza", set()),
    ("-invoice", {"zoe", "empty"}),
    ("-invoice -pizza", {"empty"}),
    ('-"two words"', {"alice", "zoe", "empty"}),
    # Fields.
    ("from:alice", {"alice"}),
    ("from:Dupont", {"alice"}),
    ("from:example.net", {"zoe"}),
    ('from:"alice dupont"', {"alice"}),
    ('from:"dupont alice"', set()),
    ("-from:alice", {"zoe", "empty"}),
    ("to:bob", {"alice"}),
    ("to:dan", {"alice"}),
    ("to:alice", {"zoe"}),
    ("to:carol", set()),
    ('to:"bob>, dan"', set()),
    ("cc:carol", {"alice"}),
    ("cc:example.com", {"alice"}),
    ("cc:bob", set()),
    ("subject:invoice", {"alice"}),
    ("subject:ÉTÉ", {"alice"}),
    ("subject:STRASSE", {"alice"}),
    ("subject:friday", set()),
    ('subject:"straße: the"', {"alice"}),
    ("subject:lunch", {"zoe"}),
    ("message-id:1234.5678", {"alice"}),
    ("message-id:<z@", {"zoe"}),
    ("message-id:invoice", set()),
    ("mailbox:bob", {"alice"}),
    ("mailbox:alice@example.org", {"zoe"}),
    ("mailbox:example", {"alice", "zoe"}),
    # Flags.
    ("is:read", {"zoe"}),
    ("is:unread", {"alice", "empty"}),
    ("-is:read", {"alice", "empty"}),
    ("has:attachment", {"alice"}),
    ("-has:attachment", {"zoe", "empty"}),
    # Dates: UTC days; after: includes the day, before: excludes it.
    ("after:2024-05-31", {"alice", "zoe"}),
    ("after:2024-06-01", set()),
    ("before:2024-05-31", {"empty"}),
    ("before:2024-06-01", {"alice", "zoe", "empty"}),
    ("after:2024-05-31 before:2024-06-01", {"alice", "zoe"}),
    ("-after:2024-05-31", {"empty"}),
    ("after:2000-01-01", {"alice", "zoe", "empty"}),
    ("before:2000-01-01", set()),
    # Sizes: strictly larger, strictly smaller.
    ("larger:1K", {"alice"}),
    ("larger:1023", {"alice", "zoe"}),
    ("larger:2K", set()),
    ("smaller:2K", {"zoe", "empty"}),
    ("smaller:1K", {"empty"}),
    ("smaller:0", set()),
    ("larger:0", {"alice", "zoe"}),
    ("-larger:1K", {"zoe", "empty"}),
    # Everything together.
    ('from:alice is:unread has:attachment "due on" after:2024-01-01 smaller:1M', {"alice"}),
]


@pytest.mark.parametrize(("source", "expected"), MATCHES)
def test_matches(source: str, expected: set[str]) -> None:
    query = parse_query(source)
    assert {name for name, record in RECORDS.items() if query.matches(record)} == expected


def test_a_naive_received_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SearchRecord("", "", (), (), "", "", "", datetime(2024, 1, 1), 0, 0, False)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TextTerm(()),
        lambda: TextTerm(("",)),
        lambda: TextTerm(("Upper",)),
        lambda: TextTerm(("two words",)),
        lambda: TextTerm(("nul\x00",)),
        lambda: FieldTerm(Field.IS, ("read",)),
        lambda: DateTerm(Field.LARGER, date(2024, 1, 1)),
        lambda: DateTerm(Field.AFTER, datetime(2024, 1, 1, tzinfo=UTC)),
        lambda: SizeTerm(Field.BEFORE, 1),
        lambda: SizeTerm(Field.LARGER, -1),
        lambda: SizeTerm(Field.LARGER, MAX_SIZE + 1),
        lambda: Not(Not(TextTerm(("x",)))),  # type: ignore[arg-type]
    ],
)
def test_a_term_that_could_not_be_parsed_cannot_be_built(build: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        build()  # type: ignore[operator]


def test_fold() -> None:
    assert fold("  ÉTÉ\t à\n\nStraße  ") == "été à strasse"
    assert fold("e\u0301") == "é"
    assert fold("") == ""


def test_exported_names() -> None:
    assert set(query_module.__all__) == {
        "MAX_QUERY_LENGTH",
        "MAX_SIZE",
        "MAX_TERMS",
        "Atom",
        "DateTerm",
        "Field",
        "FieldTerm",
        "Flag",
        "FlagTerm",
        "Not",
        "Query",
        "QueryError",
        "SearchRecord",
        "SizeTerm",
        "TagTerm",
        "Term",
        "TextTerm",
        "fold",
        "parse_query",
    }
    assert issubclass(QueryError, ValueError)
