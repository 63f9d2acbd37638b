"""The index's per-mailbox `counts`: always what a count of the `messages` rows gives,
whatever changed the rows (deliveries, marks, deletions, compactions, a mail client's
changes found by a sync, a mailbox gone, a reindex); and the lists that read them cost
the same however many messages a mailbox holds."""

from __future__ import annotations

import mailbox
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from postier.store.naming import StoreFormat, mailbox_path
from postier.store.read import Page, Reader
from postier.store.read.mbox_compact import compact
from tests.store_read.helpers import WHEN, deliver, plain

ADDRESSES = ("alice@example.org", "bob@example.org", "carol@example.org")
FORMATS: tuple[StoreFormat, ...] = ("mbox", "maildir")

_COUNTED = (
    "SELECT entry, mailbox, count(*), sum(seen = 0), sum(size), max(received) "
    "FROM messages WHERE hidden = 0 GROUP BY entry, mailbox ORDER BY entry, mailbox"
)
_KEPT = "SELECT entry, mailbox, messages, unread, size, newest FROM counts ORDER BY entry, mailbox"


_DELIVERIES_COUNTED = (
    "SELECT delivery, count(*), sum(seen = 0) FROM messages WHERE hidden = 0 AND "
    "delivery != '' GROUP BY delivery ORDER BY delivery"
)
_DELIVERIES_KEPT = "SELECT delivery, copies, unread FROM deliveries ORDER BY delivery"
_ENTRIES = (
    "SELECT count(*), coalesce(sum(unread > 0), 0) FROM (SELECT sum(seen = 0) AS unread "
    "FROM messages WHERE hidden = 0 GROUP BY CASE WHEN delivery = '' THEN id ELSE delivery END)"
)
"""All mail's entries and unread entries, counted from the rows: a delivery is one entry,
unread while any copy is."""
_SHARING = (
    "SELECT count(*), coalesce(sum(copies), 0), coalesce(sum(unread - (unread > 0)), 0) "
    "FROM deliveries WHERE copies > 1"
)


def counts_agree(reader: Reader) -> None:
    """`counts` and `deliveries` hold exactly the lines a count of the visible rows makes."""
    with reader.db.reading() as conn:
        assert conn.execute(_KEPT).fetchall() == conn.execute(_COUNTED).fetchall()
        kept = conn.execute(_DELIVERIES_KEPT).fetchall()
        assert kept == conn.execute(_DELIVERIES_COUNTED).fetchall()
        entries = conn.execute(_ENTRIES).fetchone()
        sharing = conn.execute("SELECT deliveries, copies, unread FROM sharing").fetchone()
        assert sharing == conn.execute(_SHARING).fetchone()
    page = reader.messages(limit=None)
    assert (page.total, page.unread) == tuple(entries)
    assert len(page.messages) == page.total


def _subject(path: Path) -> bytes:
    data = path.read_bytes()
    start = data.find(b"\nSubject:")
    return data[start : data.find(b"\n", start + 1)]


def _pair(page: Page) -> tuple[int, int]:
    return page.total, page.unread


class CountsMachine(RuleBasedStateMachine):
    """Random changes to a store through a reader and behind its back."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="postier-counts-"))
        self.reader = Reader(self.root, fsync=False)
        self.clock = WHEN
        self.sent = 0

    def teardown(self) -> None:
        self.reader.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _ids(self) -> list[str]:
        """Copies' IDs and deliveries' IDs (both are marked and deleted), in an order that
        does not hang on the IDs themselves (they hash queue ids and Maildir names, which
        differ from run to run): Hypothesis replays a run by drawing the same places."""
        listed = self.reader.messages(limit=None).messages
        entries = sorted((item.subject, item.id) for item in listed)
        copies = sorted(
            (box.address, item.subject, item.id)
            for box in self.reader.mailboxes()
            for item in self.reader.messages(box.address, limit=None).messages
        )
        return [id_ for _, id_ in entries] + [id_ for _, _, id_ in copies]

    @rule(
        fmt=st.sampled_from(FORMATS),
        addresses=st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True),
        count=st.integers(1, 3),
        back=st.integers(0, 3),
    )
    def deliver(self, fmt: StoreFormat, addresses: list[str], count: int, back: int) -> None:
        # Now and then filed earlier than the newest: the newest is not always the last.
        # To several recipients now and then: one delivery, a copy in each mailbox.
        self.clock += timedelta(minutes=1)
        when = self.clock - timedelta(hours=back)
        messages = [plain(f"message {self.sent + n}", "x" * (self.sent + n)) for n in range(count)]
        self.sent += count
        deliver(self.root, fmt, messages, addresses, when=when)
        self.reader.sync()

    @precondition(lambda self: self.reader.all_ids())
    @rule(data=st.data(), read=st.booleans())
    def mark(self, data: st.DataObject, read: bool) -> None:
        ids = data.draw(st.lists(st.sampled_from(self._ids()), min_size=1, max_size=3))
        self.reader.mark(ids, read=read)

    @precondition(lambda self: self.reader.all_ids())
    @rule(data=st.data(), wait=st.booleans())
    def delete(self, data: st.DataObject, wait: bool) -> None:
        ids = data.draw(st.lists(st.sampled_from(self._ids()), min_size=1, max_size=2))
        self.reader.delete(ids, wait=wait)

    @rule(address=st.sampled_from(ADDRESSES))
    def compact(self, address: str) -> None:
        entry = mailbox_path(self.root, address, "mbox").name
        if (self.root / entry).exists():
            compact(self.root, entry, fsync=False)
        self.reader.sync()

    @rule(address=st.sampled_from(ADDRESSES), data=st.data())
    def mail_client(self, address: str, data: st.DataObject) -> None:
        """A mail client marks a Maildir message read (moves it to cur/) or deletes it."""
        maildir = mailbox_path(self.root, address, "maildir")
        files = sorted(
            (path for sub in ("new", "cur") if (maildir / sub).is_dir()
             for path in (maildir / sub).iterdir()),
            key=_subject,  # not the name, which differs from run to run
        )  # fmt: skip
        if files:
            path = data.draw(st.sampled_from(files))
            if data.draw(st.booleans()):
                path.rename(maildir / "cur" / (path.name.split(":")[0] + ":2,S"))
            else:
                path.unlink()
        self.reader.sync()

    @rule(address=st.sampled_from(ADDRESSES), data=st.data())
    def mbox_client(self, address: str, data: st.DataObject) -> None:
        """A mail client rewrites an mbox: one message marked read (`Status: RO`) or gone."""
        path = mailbox_path(self.root, address, "mbox")
        if path.exists():
            box = mailbox.mbox(path, create=False)
            box.lock()
            try:
                keys = sorted(box.keys())
                if keys:
                    key = data.draw(st.sampled_from(keys))
                    if data.draw(st.booleans()):
                        message = box[key]
                        message.set_flags("RO")
                        box[key] = message
                    else:
                        box.remove(key)
                    box.flush()
            finally:
                box.unlock()
                box.close()
        self.reader.sync()

    @rule(address=st.sampled_from(ADDRESSES), fmt=st.sampled_from(FORMATS))
    def remove_mailbox(self, address: str, fmt: StoreFormat) -> None:
        path = mailbox_path(self.root, address, fmt)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            os.unlink(path)
        self.reader.sync()

    @rule()
    def reindex(self) -> None:
        self.reader.reindex()

    @invariant()
    def agree(self) -> None:
        # A background compaction landing between two reads below (it writes `Status:`
        # into read messages, so their size changes) would make them disagree.
        self.reader.editor.flush(30)
        self.reader.sync()
        counts_agree(self.reader)
        # A search counts entries as all mail does (every subject here has the word).
        page = self.reader.messages(limit=0)
        found = self.reader.messages(query="message", limit=None)
        assert (found.total, found.unread, len(found.messages)) == (*_pair(page), found.total)
        found = self.reader.messages(query="is:unread", limit=None)
        assert (found.total, found.unread, len(found.messages)) == (page.unread,) * 3
        # Fewer matches than shared copies (counted another way): "message 1", 1x.
        every = self.reader.messages(limit=None).messages
        wanted = [item for item in every if item.subject.startswith("message 1")]
        found = self.reader.messages(query='subject:"message 1"', limit=None)
        assert {item.id for item in found.messages} == {item.id for item in wanted}
        assert (found.total, found.unread) == (
            len(wanted),
            sum(not item.read for item in wanted),
        )
        with self.reader.db.reading() as conn:
            counted = conn.execute(
                "SELECT mailbox, count(*), sum(seen = 0), sum(size), max(received) "
                "FROM messages WHERE hidden = 0 GROUP BY mailbox"
            ).fetchall()
        lines = {
            box.address: (box.count, box.unread, box.size)
            for box in self.reader.mailboxes() if box.count
        }  # fmt: skip
        assert lines == {mailbox: (c, u, s) for mailbox, c, u, s, _ in counted}


CountsMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("POSTIER_COUNTS_EXAMPLES", "20")),
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_counts_match_the_rows = CountsMachine.TestCase


def test_the_newest_is_found_again_when_the_newest_goes(store: Path) -> None:
    deliver(store, "maildir", [plain("old"), plain("new")], [ADDRESSES[0]])
    with Reader(store, fsync=False) as reader:
        newest = reader.messages(ADDRESSES[0]).messages[0]
        reader.delete([newest.id])
        (box,) = reader.mailboxes()
        counts_agree(reader)
    assert (box.count, box.newest) == (1, WHEN)


def test_an_index_of_the_previous_schema_is_rebuilt_with_counts(store: Path) -> None:
    deliver(store, "mbox", [plain("one"), plain("two")], [ADDRESSES[0]])
    with Reader(store, fsync=False) as reader:
        reader.sync()
        path = reader.index_path
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'version'")
        conn.execute("DROP TABLE counts")
    conn.close()
    with Reader(store, fsync=False) as reader:
        (box,) = reader.mailboxes()
        counts_agree(reader)
    assert box.count == 2


# -- the cost of a list does not grow with its mailbox -------------------------------------


def _instructions(reader: Reader, call: Callable[[], object]) -> int:
    """SQLite virtual machine instructions that `call` runs on the reader's connection:
    a measure of the rows it reads that does not depend on the machine's speed."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    conn = reader.db.connection()
    conn.set_progress_handler(count, 1)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 1)
    return steps[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_counts_pages_numbers_and_views_do_not_read_the_whole_mailbox(
    store: Path, fmt: StoreFormat
) -> None:
    alice, bob = ADDRESSES[:2]
    deliver(store, fmt, [plain(f"a{n}") for n in range(20)], [alice])
    deliver(store, fmt, [plain(f"b{n}") for n in range(400)], [bob])
    with Reader(store, fsync=False, freshness=1e9) as reader:
        reader.sync()
        ids = {address: reader.messages(address, limit=None).messages for address in (alice, bob)}
        calls: dict[str, Callable[[str], object]] = {
            "page": lambda address: reader.messages(address, limit=5),
            "numbered": lambda address: reader.numbered(address, 3),
            "last": lambda address: reader.numbered(address, None),
            "view": lambda address: reader.view(ids[address][10].id),
            "number of a recent one": lambda address: reader.message(ids[address][2].id),
            "number of an old one": lambda address: reader.message(ids[address][-3].id),
        }
        for name, call in calls.items():
            small = _instructions(reader, lambda call=call: call(alice))
            large = _instructions(reader, lambda call=call: call(bob))
            # 20 times the messages: a count of them would take about 20 times the steps.
            assert large < 2 * small, (name, small, large)
        page = reader.messages(bob, limit=5)
    assert (page.total, page.unread, [m.number for m in page.messages]) == (
        400, 400, [400, 399, 398, 397, 396],
    )  # fmt: skip


def test_a_message_is_numbered_as_its_mailbox_lists_it(store: Path) -> None:
    alice = ADDRESSES[0]
    deliver(store, "mbox", [plain(f"m{n}") for n in range(7)], [alice])
    deliver(store, "maildir", [plain(f"d{n}") for n in range(6)], [alice])
    with Reader(store, fsync=False) as reader:
        listed = reader.messages(alice, limit=None).messages
        reader.delete([listed[4].id, listed[9].id])
        listed = reader.messages(alice, limit=None).messages
        numbers = [reader.message(row.id).summary.number for row in listed]
        found = [reader.numbered(alice, number).id for number in numbers]
    assert numbers == [row.number for row in listed] == list(range(11, 0, -1))
    assert found == [row.id for row in listed]
