"""`Reader.one_look`: the calls of one request share one look at the files, and the tags
of a page are found by ID, not by reading every visible row (counted, not timed)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat
from postier.store.read import Reader
from tests.store_read.helpers import WHEN, deliver, plain

FORMATS: list[StoreFormat] = ["mbox", "maildir"]


def _counting(reader: Reader) -> list[int]:
    """Counts `reader.sync` calls (the looks) in the list's one item."""
    calls = [0]
    original = reader.sync

    def sync(only: object = None) -> object:
        calls[0] += 1
        return original() if only is None else original(only)  # type: ignore[arg-type]

    reader.sync = sync  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("fmt", FORMATS)
def test_calls_inside_one_look_look_once(store: Path, fmt: StoreFormat) -> None:
    deliver(store, fmt, [plain("one"), plain("two")], ("alice@example.org", "bob@example.org"))
    reader = Reader(store, fsync=False)
    try:
        looks = _counting(reader)
        reader.messages()
        reader.messages(limit=0)
        reader.all_tags()
        assert looks[0] == 3  # freshness 0: every call looks
        looks[0] = 0
        with reader.one_look():
            page = reader.messages()
            reader.messages(query="two", limit=0)
            reader.all_tags()
            reader.mailboxes()
            with reader.one_look():  # nested: no second look
                reader.messages("bob@example.org")
        assert looks[0] == 1
        assert page.total == 2
        reader.messages()
        assert looks[0] == 2  # outside again, a call looks
    finally:
        reader.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_look_shows_what_came_before_it_and_later_calls_see_the_rest(
    store: Path, fmt: StoreFormat
) -> None:
    deliver(store, fmt, [plain("first")])
    reader = Reader(store, fsync=False)
    try:
        with reader.one_look():
            assert [m.subject for m in reader.messages().messages] == ["first"]
            deliver(store, fmt, [plain("second")])  # another writer, meanwhile
            assert reader.messages().total == 1  # no second look inside
        assert reader.messages().total == 2
    finally:
        reader.close()


def test_one_look_of_one_thread_does_not_stop_another_from_looking(store: Path) -> None:
    deliver(store, "mbox", [plain("first")])
    reader = Reader(store, fsync=False)
    try:
        seen: list[int] = []
        with reader.one_look():
            deliver(store, "mbox", [plain("second")])
            other = threading.Thread(target=lambda: seen.append(reader.messages().total))
            other.start()
            other.join(10)
        assert seen == [2]  # the other thread looked, although this one was inside
    finally:
        reader.close()


def test_a_page_s_tags_cost_the_same_however_large_the_store(store: Path) -> None:
    """The tags of a page's 50 IDs are found along the IDs' index: SQLite's steps do not
    grow with the store (a plan that reads every visible row would grow tenfold here)."""
    reader = Reader(store, fsync=False)

    def steps_for_a_page() -> int:
        ids = [m.id for m in reader.messages(limit=50).messages]
        assert len(ids) == 50
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        conn = reader.db.connection()  # the one this thread's calls use
        conn.set_progress_handler(count, 10)
        try:
            tags = reader.tags(ids)
        finally:
            conn.set_progress_handler(None, 0)
        assert len(tags) == 50 and all(t == [] for t in tags.values())
        return steps[0]

    try:
        deliver(store, "mbox", [plain(f"plain {n}") for n in range(60)])
        small = steps_for_a_page()
        deliver(store, "mbox", [plain(f"more {n}") for n in range(540)])
        large = steps_for_a_page()
        assert large < 1.5 * small + 20, (small, large)
    finally:
        reader.close()


def _entries_looked(reader: Reader) -> list[object]:
    """What each look of `reader` was asked to see (None: every mailbox)."""
    asked: list[object] = []
    original = reader.sync

    def sync(only: object = None) -> object:
        asked.append(None if only is None else sorted(only))  # type: ignore[call-overload]
        return original() if only is None else original(only)  # type: ignore[arg-type]

    reader.sync = sync  # type: ignore[method-assign]
    return asked


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_list_of_one_mailbox_looks_at_its_files_alone(store: Path, fmt: StoreFormat) -> None:
    deliver(store, fmt, [plain("one")], ("alice@example.org",))
    deliver(store, fmt, [plain("two")], ("bob@example.org",))
    reader = Reader(store, fsync=False)
    try:
        reader.messages()
        asked = _entries_looked(reader)
        later = WHEN + timedelta(minutes=1)
        deliver(store, fmt, [plain("three")], ("alice@example.org", "bob@example.org"), when=later)
        page = reader.messages("alice@example.org")
        assert [m.subject for m in page.messages] == ["three", "one"]  # seen at once
        assert asked == [["alice@example.org", "alice@example.org.mbox"]]  # either format
        # bob's new copy is not in the index yet: nobody looked at bob's file...
        assert reader.messages("bob@example.org", limit=0).total == 2  # ...until now
        # a mailbox that arrives after the last look is found by its name
        deliver(store, fmt, [plain("four")], ("carol@example.org",), when=later)
        assert [m.subject for m in reader.messages("Carol@Example.org").messages] == ["four"]
        assert reader.messages().total == 4  # all mail looks at every mailbox
        assert asked[-1] is None
    finally:
        reader.close()
