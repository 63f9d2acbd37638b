"""Following a store: each message filed after the start is reported once, in order."""

from __future__ import annotations

import mailbox
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat
from postier.store.read import MessageSummary, Reader
from postier.store.read.watch import Watcher, follow
from tests.store_read.helpers import WHEN, CliRun, deliver, plain


@pytest.fixture(params=["mbox", "maildir"])
def fmt(request: pytest.FixtureRequest) -> StoreFormat:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def reader_of() -> Iterator[Callable[[Path], Reader]]:
    """`reader_of(store)`: a Reader of the store, closed at the end of the test (its
    files and its index with it: a later test that counts open files must not see them)."""
    opened: list[Reader] = []

    def open_reader(store: Path) -> Reader:
        opened.append(Reader(store, fsync=False))
        return opened[-1]

    yield open_reader
    for reader in opened:
        reader.close()


def seen(arrivals: list[MessageSummary]) -> list[tuple[str, int, str]]:
    return [(a.mailbox, a.number, a.subject) for a in arrivals]


def test_only_what_comes_after_the_start_is_reported(
    store: Path, fmt: StoreFormat, reader_of: Callable[[Path], Reader]
) -> None:
    deliver(store, fmt, [plain("old 1"), plain("old 2")])
    watcher = Watcher(reader_of(store))
    assert watcher.poll() == []
    later = WHEN + timedelta(minutes=1)  # received after the first two, as in life
    deliver(store, fmt, [plain("new 1"), plain("new 2")], when=later)
    deliver(store, fmt, [plain("for bob")], ["bob@example.org"], when=later)
    assert sorted(seen(watcher.poll())) == [
        ("alice@example.org", 3, "new 1"),
        ("alice@example.org", 4, "new 2"),
        ("bob@example.org", 1, "for bob"),
    ]
    assert watcher.poll() == []


def test_a_store_that_does_not_exist_yet(
    store: Path, fmt: StoreFormat, reader_of: Callable[[Path], Reader]
) -> None:
    watcher = Watcher(reader_of(store))
    assert watcher.poll() == []
    deliver(store, fmt, [plain("first ever")])
    [arrival] = watcher.poll()
    assert (arrival.mailbox, arrival.number, arrival.sender) == (
        "alice@example.org",
        1,
        "Sender <sender@example.com>",
    )
    assert arrival.received == WHEN


def test_an_mbox_rewritten_by_another_tool_starts_over(
    store: Path, reader_of: Callable[[Path], Reader]
) -> None:
    deliver(store, "mbox", [plain("one"), plain("two")])
    watcher = Watcher(reader_of(store))
    path = store / "alice@example.org.mbox"
    # A mail client deleted the first message: the file is written again without it.
    box = mailbox.mbox(path)
    box.lock()
    box.remove(next(iter(box.keys())))
    box.flush()
    box.unlock()
    box.close()
    assert watcher.poll() == []
    deliver(store, "mbox", [plain("three")])
    assert seen(watcher.poll()) == [("alice@example.org", 2, "three")]


def test_a_damaged_mailbox_is_reported_and_skipped(
    store: Path, reader_of: Callable[[Path], Reader]
) -> None:
    deliver(store, "mbox", [plain("one")])
    watcher = Watcher(reader_of(store))
    (store / "broken@example.org.mbox").write_bytes(b"garbage")
    deliver(store, "mbox", [plain("two")])
    assert seen(watcher.poll()) == [("alice@example.org", 2, "two")]
    assert len(watcher.errors) == 1 and watcher.errors[0].startswith("broken@example.org.mbox: ")


def test_follow_with_several_writers(
    store: Path, fmt: StoreFormat, reader_of: Callable[[Path], Reader]
) -> None:
    """Two writers, each with its store object as two server processes would have."""
    deliver(store, fmt, [plain("before")])
    arrivals: list[MessageSummary] = []
    ready = threading.Event()
    watching = threading.Thread(
        target=follow,
        args=(reader_of(store), arrivals.append),
        kwargs={"interval": 0.01, "count": 20, "timeout": 20, "on_ready": ready.set},
    )
    watching.start()
    assert ready.wait(10)
    writers = [
        threading.Thread(
            target=deliver, args=(store, fmt, [plain(f"{who} {n}") for n in range(10)])
        )
        for who in ("a", "b")
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    watching.join(20)
    assert not watching.is_alive()
    if fmt == "mbox":  # appended in turn: each copy's number is final
        assert sorted(a.number for a in arrivals) == list(range(2, 22))
    subjects = [a.subject for a in arrivals]
    assert sorted(subjects) == sorted(f"{who} {n}" for who in "ab" for n in range(10))
    # Each writer's messages come in the order it wrote them.
    for who in "ab":
        assert [s for s in subjects if s.startswith(who)] == [f"{who} {n}" for n in range(10)]


def test_watch_command_with_count_and_timeout(cli: CliRun, store: Path) -> None:
    result = cli(
        "watch", "--store", store, "--count", "1", "--timeout", "0.2", "--interval", "0.05"
    )
    assert result.status == 1  # nothing came
    assert result.err.startswith(f"Watching {store} for new mail")
    assert cli("watch", "--store", store, "--timeout", "0.1").status == 0
