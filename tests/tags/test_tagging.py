"""Tag names and the `tag:` / `is:tagged` terms, table-driven: cleaning (Mailpit's
`CleanTag`), the `X-Tags:` and plus-address tags, sorting, and the query terms parsed,
rendered back and matched (the reference semantics the index's SQL must agree with)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postier.store.query import (
    Flag,
    FlagTerm,
    Not,
    Query,
    QueryError,
    SearchRecord,
    TagTerm,
    parse_query,
)
from postier.store.tagging import (
    MAX_TAG_LENGTH,
    clean_tag,
    clean_tags,
    header_tags,
    merged,
    plus_tags,
    sorted_tags,
)

CLEAN = [
    ("invoice", "invoice"),
    ("  invoice  ", "invoice"),
    ("Two  Words", "Two Words"),
    ("urgent!!", "urgent"),
    ("a/b", "a b"),
    ("tab\there", "tab here"),
    ("keep-_.@ these", "keep-_.@ these"),
    ("été", "t"),  # only ASCII letters are kept, as in Mailpit
    ("!!!", ""),
    ("", ""),
    ("x" * 150, "x" * MAX_TAG_LENGTH),
    ("a" * 99 + " b", "a" * 99),  # cut at 100, then trimmed
]


@pytest.mark.parametrize(("given", "cleaned"), CLEAN)
def test_clean_tag(given: str, cleaned: str) -> None:
    assert clean_tag(given) == cleaned
    assert clean_tag(cleaned) == cleaned  # idempotent


LISTS = [
    ([], []),
    (["a", "b"], ["a", "b"]),
    (["Invoice", "invoice", "INVOICE"], ["Invoice"]),  # first spelling wins
    (["", "  ", "!!", "ok"], ["ok"]),
    (["b", "a", "b"], ["b", "a"]),  # order kept
]


@pytest.mark.parametrize(("given", "cleaned"), LISTS)
def test_clean_tags(given: list[str], cleaned: list[str]) -> None:
    assert clean_tags(given) == cleaned


HEADERS = [
    ([], []),
    (["invoice"], ["invoice"]),
    (["invoice, urgent"], ["invoice", "urgent"]),
    (["a,,b, ,c"], ["a", "b", "c"]),
    (["one", "two, One"], ["one", "two"]),  # every X-Tags field counts
    (["Big Deal, big deal"], ["Big Deal"]),
]


@pytest.mark.parametrize(("values", "tags"), HEADERS)
def test_header_tags(values: list[str], tags: list[str]) -> None:
    assert header_tags(values) == tags


PLUS = [
    ("alice@example.org", []),
    ("alice+invoice@example.org", ["invoice"]),
    ("alice+a+b@example.org", ["a", "b"]),
    ("alice+@example.org", []),
    ("alice+Big_Deal@example.org", ["Big_Deal"]),
    ("alice+x!y@example.org", ["x y"]),
    ("no-at-sign+tag", []),
]


@pytest.mark.parametrize(("address", "tags"), PLUS)
def test_plus_tags(address: str, tags: list[str]) -> None:
    assert plus_tags(address) == tags


def test_merged_and_sorted() -> None:
    assert merged(["a", "B"], ["b", "c"]) == ["a", "B", "c"]
    assert sorted_tags(["beta", "Alpha", "alpha", "Gamma"]) == ["Alpha", "beta", "Gamma"]
    assert sorted_tags([]) == []


PARSED = [
    ("tag:invoice", Query((TagTerm(("invoice",)),))),
    ("TAG:Invoice", Query((TagTerm(("invoice",)),))),
    ('tag:"big deal"', Query((TagTerm(("big", "deal")),))),
    ("-tag:invoice", Query((Not(TagTerm(("invoice",))),))),
    ("is:tagged", Query((FlagTerm(Flag.TAGGED),))),
    ("-is:tagged", Query((Not(FlagTerm(Flag.TAGGED)),))),
]


@pytest.mark.parametrize(("text", "query"), PARSED)
def test_tag_terms_parse_and_render(text: str, query: Query) -> None:
    assert parse_query(text) == query
    assert parse_query(query.render()) == query


@pytest.mark.parametrize(("text", "message"), [("tag:", "'tag:' at column 1 has no value")])
def test_tag_term_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(text)


def _record(*tags: str) -> SearchRecord:
    return SearchRecord(
        mailbox="alice@example.org", sender="s@example.com", to=(), cc=(), subject="Hi",
        message_id="", text="invoice in the text", received=datetime(2026, 1, 1, tzinfo=UTC),
        size=10, attachments=0, read=False, tags=tags,
    )  # fmt: skip


MATCHES = [
    ("tag:invoice", ("invoice",), True),
    ("tag:invoice", ("Invoice",), True),
    ("tag:invoice", ("invoices",), False),  # the whole name, not a part of it
    ("tag:invoice", (), False),  # the text holds the word: no tag for all that
    ('tag:"big deal"', ("Big Deal",), True),
    ("-tag:invoice", ("other",), True),
    ("-tag:invoice", ("invoice",), False),
    ("is:tagged", ("x",), True),
    ("is:tagged", (), False),
    ("-is:tagged", (), True),
    ("invoice", (), True),
]


@pytest.mark.parametrize(("text", "tags", "expected"), MATCHES)
def test_tag_terms_match(text: str, tags: tuple[str, ...], expected: bool) -> None:
    assert parse_query(text).matches(_record(*tags)) is expected
