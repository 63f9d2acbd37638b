"""Tags in the index, through `Reader`, in both store formats: from `X-Tags:` and from
plus-addresses (`tags_from_plus`), set, renamed and deleted; searched with `tag:`,
`-tag:` and `is:tagged`, the SQL checked against `Query.matches`; kept by a reindex and by
a rebuild for another schema version, re-derived from the files where the API did not
choose; forgotten with the message."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.store.index.database import index_path
from postier.store.query import SearchRecord, parse_query
from postier.store.read import BadTag, NoSuchMessage, Reader
from postier.store.read.results import MessageSummary
from postier.store.read.tags import all_tags, tags_for
from tests.store_read.helpers import deliver, plain

ALICE = "alice@example.org"
PLUS = "bob+invoice+urgent@example.org"


@pytest.fixture(params=["mbox", "maildir"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A store: 'Tagged' (X-Tags) for alice, 'Plain' for alice, 'Plus' for bob+... and
    carol (one delivery of two copies)."""
    root = tmp_path / "mail"
    fmt = request.param
    deliver(root, fmt, [plain("Tagged", x_tags="Invoice, big deal", message_id="<t@x>")], [ALICE])
    deliver(root, fmt, [plain("Plain", message_id="<p@x>")], [ALICE])
    deliver(root, fmt, [plain("Plus", message_id="<q@x>")], [PLUS, "carol@example.org"])
    return root


@pytest.fixture
def reader(store: Path) -> Iterator[Reader]:
    with Reader(store, fsync=False) as opened:
        yield opened


def by_subject(reader: Reader, mailbox: str | None = None) -> dict[str, MessageSummary]:
    return {m.subject: m for m in reader.messages(mailbox, limit=None).messages}


def tags_by_subject(reader: Reader, mailbox: str | None = None) -> dict[str, list[str]]:
    found = by_subject(reader, mailbox)
    tags = reader.tags([m.id for m in found.values()])
    return {subject: tags[m.id] for subject, m in found.items()}


def found(reader: Reader, query: str, mailbox: str | None = None) -> list[str]:
    return sorted(m.subject for m in reader.messages(mailbox, query=query, limit=None).messages)


def test_tags_from_the_header(reader: Reader) -> None:
    assert tags_by_subject(reader, ALICE) == {"Tagged": ["Invoice", "big deal"], "Plain": []}
    assert reader.all_tags() == ["big deal", "Invoice"]
    assert reader.tag_counts() == {"big deal": 1, "Invoice": 1}


def test_plus_tags_only_when_asked_and_without_a_reindex(reader: Reader) -> None:
    assert tags_by_subject(reader, PLUS)["Plus"] == []
    assert found(reader, "tag:invoice") == ["Tagged"]
    reader.tags_from_plus = True
    assert tags_by_subject(reader, PLUS)["Plus"] == ["invoice", "urgent"]
    assert tags_by_subject(reader, "carol@example.org")["Plus"] == []  # her copy: no plus
    assert found(reader, "tag:urgent") == ["Plus"]
    assert found(reader, "tag:invoice", PLUS) == ["Plus"]
    assert reader.all_tags() == ["big deal", "Invoice", "urgent"]  # one spelling each


SEARCHES = [
    ("tag:invoice", ["Tagged"]),
    ("tag:INVOICE", ["Tagged"]),
    ("tag:invo", []),
    ('tag:"big deal"', ["Tagged"]),
    ("-tag:invoice", ["Plain", "Plus"]),
    ("is:tagged", ["Tagged"]),
    ("-is:tagged", ["Plain", "Plus"]),
    ("tag:invoice subject:tagged", ["Tagged"]),
    ("tag:nothing", []),
]


@pytest.mark.parametrize(("query", "subjects"), SEARCHES)
def test_search(reader: Reader, query: str, subjects: list[str]) -> None:
    assert found(reader, query) == subjects


def _record(m: MessageSummary, tags: list[str]) -> SearchRecord:
    return SearchRecord(
        mailbox=m.mailbox, sender=m.sender, to=m.to, cc=m.cc, subject=m.subject,
        message_id=m.message_id, text="", received=m.received, size=m.size,
        attachments=m.attachments, read=m.read, tags=tuple(tags),
    )  # fmt: skip


def _agrees(reader: Reader, queries: list[str]) -> None:
    """The index's answer is `Query.matches` over each message's record and tags."""
    everything = reader.messages(ALICE, limit=None).messages
    tags = reader.tags([m.id for m in everything])
    for text in queries:
        query = parse_query(text)
        expected = sorted(m.id for m in everything if query.matches(_record(m, tags[m.id])))
        got = sorted(m.id for m in reader.messages(ALICE, query=text, limit=None).messages)
        assert got == expected, text


def test_sql_agrees_with_the_reference(reader: Reader) -> None:
    queries = ["tag:invoice", "-tag:invoice", "is:tagged", "-is:tagged", "tag:x", "tag:new"]
    _agrees(reader, queries)
    plain_id = by_subject(reader, ALICE)["Plain"].id
    tagged_id = by_subject(reader, ALICE)["Tagged"].id
    reader.set_tags([plain_id], ["New", "x"])
    reader.set_tags([tagged_id], [])
    _agrees(reader, queries)


def test_set_tags_is_exact(reader: Reader) -> None:
    tagged = by_subject(reader, ALICE)["Tagged"]
    reader.set_tags([tagged.id], ["one", " two!", "ONE", ""])
    assert reader.tags([tagged.id]) == {tagged.id: ["one", "two"]}
    reader.set_tags([tagged.id], [])  # no tag at all: the header's are gone too
    assert reader.tags([tagged.id]) == {tagged.id: []}
    assert found(reader, "is:tagged") == []
    assert reader.all_tags() == []


def test_a_tag_known_keeps_its_spelling(reader: Reader) -> None:
    plain_id = by_subject(reader, ALICE)["Plain"].id
    reader.set_tags([plain_id], ["INVOICE", "fresh"])
    assert reader.tags([plain_id])[plain_id] == ["Invoice", "fresh"]


def test_a_delivery_tags_all_its_copies(reader: Reader) -> None:
    entry = by_subject(reader)["Plus"]
    assert entry.id.startswith("d")
    reader.set_tags([entry.id], ["shared"])
    for mailbox in (PLUS, "carol@example.org"):
        assert tags_by_subject(reader, mailbox)["Plus"] == ["shared"]
    assert reader.tags([entry.id]) == {entry.id: ["shared"]}
    assert found(reader, "tag:shared") == ["Plus"]


def test_an_unknown_id_changes_nothing(reader: Reader) -> None:
    plain_id = by_subject(reader, ALICE)["Plain"].id
    with pytest.raises(NoSuchMessage):
        reader.set_tags([plain_id, "nosuchid"], ["x"])
    assert reader.tags([plain_id])[plain_id] == []


def test_rename(reader: Reader) -> None:
    reader.rename_tag("invoice", "Bill")  # any case names the tag
    assert tags_by_subject(reader, ALICE)["Tagged"] == ["Bill", "big deal"]
    reader.rename_tag("Bill", "bill")  # a change of case only
    assert reader.all_tags() == ["big deal", "bill"]
    reader.rename_tag("bill", "bill")  # the same: nothing to do
    with pytest.raises(BadTag, match="tag already exists: Big Deal"):
        reader.rename_tag("bill", "Big Deal")
    with pytest.raises(BadTag, match="tag not found: nothing"):
        reader.rename_tag("nothing", "else")
    with pytest.raises(BadTag, match="invalid tag name"):
        reader.rename_tag("bill", "!!!")
    assert reader.all_tags() == ["big deal", "bill"]


def test_delete(reader: Reader) -> None:
    reader.delete_tag("INVOICE")
    assert tags_by_subject(reader, ALICE)["Tagged"] == ["big deal"]
    with pytest.raises(BadTag, match="tag not found: invoice"):
        reader.delete_tag("invoice")


def test_reindex_keeps_what_the_api_chose_and_derives_the_rest(reader: Reader) -> None:
    plain_id = by_subject(reader, ALICE)["Plain"].id
    reader.set_tags([plain_id], ["kept"])
    reader.rename_tag("invoice", "bill")
    reader.delete_tag("big deal")
    assert reader.reindex() == 4
    assert tags_by_subject(reader, ALICE) == {"Tagged": ["bill"], "Plain": ["kept"]}
    assert found(reader, "tag:kept") == ["Plain"]


def test_reindex_derives_the_header_tags_again(reader: Reader, store: Path) -> None:
    reader.sync()
    conn = sqlite3.connect(index_path(store))
    try:
        with conn:  # an index that lost them
            conn.execute("UPDATE messages SET header_tags = '[]'")
    finally:
        conn.close()
    assert tags_by_subject(reader, ALICE)["Tagged"] == []
    reader.reindex()
    assert tags_by_subject(reader, ALICE)["Tagged"] == ["Invoice", "big deal"]


def _older(store: Path, *, drop_chosen: bool) -> None:
    """Make the index file one of schema version 6 (without `tags_chosen`, as 6 was)."""
    conn = sqlite3.connect(index_path(store))
    try:
        with conn:
            conn.execute("UPDATE meta SET value = '6' WHERE key = 'version'")
            conn.execute("UPDATE messages SET header_tags = '[]'")
            if drop_chosen:
                conn.execute("DROP TABLE tags_chosen")
    finally:
        conn.close()


def test_an_index_of_version_6_is_rebuilt_with_tags(store: Path) -> None:
    with Reader(store, fsync=False) as first:
        first.sync()
    _older(store, drop_chosen=True)
    with Reader(store, fsync=False) as again:
        assert tags_by_subject(again, ALICE)["Tagged"] == ["Invoice", "big deal"]
        (version,) = (
            again.db.connection().execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        )
        assert version == "7"


def test_a_rebuild_for_another_version_keeps_the_chosen_tags(store: Path) -> None:
    with Reader(store, fsync=False) as first:
        plain_id = by_subject(first, ALICE)["Plain"].id
        first.set_tags([plain_id], ["kept"])
    _older(store, drop_chosen=False)
    with Reader(store, fsync=False) as again:
        assert tags_by_subject(again, ALICE) == {
            "Tagged": ["Invoice", "big deal"],
            "Plain": ["kept"],
        }


def test_deleting_a_message_forgets_its_tags(reader: Reader) -> None:
    plain_id = by_subject(reader, ALICE)["Plain"].id
    reader.set_tags([plain_id], ["gone"])
    reader.delete([plain_id])
    with reader.db.reading() as conn:
        assert tags_for(conn, [plain_id], plus=False) == {}
        rows = conn.execute("SELECT id FROM tags_chosen").fetchall()
    assert (plain_id,) not in rows
    assert reader.all_tags() == ["big deal", "Invoice"]


def test_listing_the_tags_reads_only_tagged_rows(tmp_path: Path) -> None:
    """`all_tags` (every list of the API asks it) goes along the partial indexes and
    `tags_chosen`: its cost in SQLite's steps does not grow with untagged mail."""
    root = tmp_path / "mail"
    deliver(root, "mbox", [plain("Tagged", x_tags="a")], [ALICE])

    def steps(reader: Reader) -> int:
        reader.sync()
        count = [0]

        def step() -> int:
            count[0] += 1
            return 0

        with reader.db.reading() as conn:
            conn.set_progress_handler(step, 10)
            try:
                assert all_tags(conn, plus=True) == ["a"]
            finally:
                conn.set_progress_handler(None, 0)
        return count[0]

    with Reader(root, fsync=False, tags_from_plus=True) as reader:
        small = steps(reader)
        deliver(root, "mbox", [plain(f"Plain {n}") for n in range(300)], [ALICE])
        large = steps(reader)
    assert 0 < large <= small + 5, (small, large)
