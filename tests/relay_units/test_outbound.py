"""`relay/outbound.py`: the queue's files under `<store>/.postier/outbound/`: staged,
committed, discarded, held, updated, removed, swept; `dropped.jsonl` and the flush
mark; entries that cannot be read."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.relay import Dropped, EntryBusyError, OutboundQueue, QueueEntry
from postier.relay.entry import EntryError
from postier.relay.outbound import STALE, Staged, new_entry_id, queue_path
from tests.relay_units.helpers import entry

DATA = b"Received: from c by s; Thu, 1 Jan 2026 00:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n"


@pytest.fixture
def queue(tmp_path: Path) -> OutboundQueue:
    return OutboundQueue(tmp_path / "store")


def _stage(queue: OutboundQueue, name: str, data: bytes = DATA, **changes: object) -> Staged:
    return queue.stage(name, [data[:7], data[7:]], lambda: entry(name, **changes))


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file()} if directory.exists() else set()


def test_the_queue_lives_under_the_store(tmp_path: Path) -> None:
    assert queue_path(tmp_path) == tmp_path / ".postier" / "outbound"
    queue = OutboundQueue(tmp_path)
    queue.ensure()
    assert (queue.path / "tmp").stat().st_mode & 0o777 == 0o700
    assert queue.path.stat().st_mode & 0o777 == 0o700


def test_entry_ids_are_hex_and_sort_by_time() -> None:
    ids = [new_entry_id() for _ in range(50)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == 50
    stamps = [i[:16] for i in ids]
    assert stamps == sorted(stamps)


def test_stage_writes_under_tmp_only_and_commit_puts_the_entry_in_the_queue(
    queue: OutboundQueue,
) -> None:
    staged = _stage(queue, "e1")
    assert _files(queue.path / "tmp") == {"e1.msg", "e1.json"}
    assert _files(queue.path) == set()
    assert queue.names() == set() and queue.entries() == []  # staged: not in the queue
    queue.commit(staged)
    assert _files(queue.path / "tmp") == set()
    assert _files(queue.path) == {"e1.msg", "e1.json"}
    assert (queue.path / "e1.msg").read_bytes() == DATA
    assert queue.names() == {"e1"}
    assert queue.entries() == [entry("e1")]
    assert queue.load("e1") == staged.entry
    for name in ("e1.msg", "e1.json"):
        assert (queue.path / name).stat().st_mode & 0o777 == 0o600


def test_commit_and_update_are_flushed_to_disk(
    queue: OutboundQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.ensure()  # the directories first: their own flushes are not looked at here
    flushed: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        "postier.relay.outbound.fsync_dir", lambda path: flushed.append(Path(path).name)
    )

    def fsync(fd: int) -> None:
        flushed.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    staged = _stage(queue, "e1")
    assert flushed == ["e1.msg", "e1.json"]  # the data first, its entry after
    flushed.clear()
    queue.commit(staged)
    assert flushed[:1] == ["outbound"]  # the renames made durable before commit returns
    flushed.clear()
    queue.update(entry("e1", attempts=1))
    assert flushed[-1] == "outbound" and re.fullmatch(r"e1\.json\.[0-9a-f]{8}", flushed[0])


def test_without_fsync_nothing_is_flushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("flushed")

    monkeypatch.setattr("postier.relay.outbound.fsync_dir", fail)
    monkeypatch.setattr(os, "fsync", fail)
    queue = OutboundQueue(tmp_path, fsync=False)
    queue.commit(_stage(queue, "e1"))
    queue.update(entry("e1", attempts=1))
    queue.remove("e1")


def test_discard_leaves_nothing(queue: OutboundQueue) -> None:
    queue.discard(_stage(queue, "e1"))
    assert _files(queue.path / "tmp") == set() and _files(queue.path) == set()
    assert queue.entries() == []
    queue.discard(Staged(entry("e1")))  # twice: no error


def test_a_stage_that_fails_leaves_nothing(queue: OutboundQueue) -> None:
    def broken() -> Iterator[bytes]:
        yield b"Subject: x\r\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        queue.stage("e1", broken(), lambda: entry("e1"))
    with pytest.raises(ValueError, match="staged as e2"):
        queue.stage("e2", [DATA], lambda: entry("other"))
    assert _files(queue.path / "tmp") == set() and _files(queue.path) == set()


def test_the_entry_is_made_after_the_data_is_written(queue: OutboundQueue) -> None:
    seen: list[bytes] = []

    def made() -> QueueEntry:
        seen.append((queue.path / "tmp" / "e1.msg").read_bytes())
        return entry("e1")

    queue.stage("e1", [DATA], made)
    assert seen == [DATA]


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


SWEEPS: list[tuple[str, float, bool]] = [
    # name, age, removed
    ("fresh", 0.0, False),
    ("just under STALE", STALE - 10, False),
    ("older than STALE", STALE + 10, True),
]


@pytest.mark.parametrize(("age", "removed"), [s[1:] for s in SWEEPS], ids=[s[0] for s in SWEEPS])
def test_sweep_removes_what_a_crash_left_once_it_is_stale(
    queue: OutboundQueue, age: float, removed: bool
) -> None:
    _stage(queue, "staged")  # a crash before commit
    queue.commit(_stage(queue, "kept"))
    (queue.path / "orphan.msg").write_bytes(DATA)  # a crash between remove's two unlinks
    (queue.path / "tmp" / "kept.json.0123abcd").write_bytes(b"{")  # a crash inside update
    leftovers = [
        queue.path / "tmp" / "staged.msg",
        queue.path / "tmp" / "staged.json",
        queue.path / "orphan.msg",
        queue.path / "tmp" / "kept.json.0123abcd",
    ]
    for path in [*leftovers, queue.path / "kept.msg", queue.path / "kept.json"]:
        _age(path, age)
    assert queue.sweep() == (len(leftovers) if removed else 0)
    assert all(p.exists() != removed for p in leftovers)
    assert queue.entries() == [entry("kept")]  # a committed entry is never swept
    assert (queue.path / "kept.msg").read_bytes() == DATA


def test_sweep_takes_the_time_it_is_given(queue: OutboundQueue) -> None:
    _stage(queue, "staged")
    mtime = (queue.path / "tmp" / "staged.msg").stat().st_mtime
    assert queue.sweep(now=mtime + STALE - 1) == 0
    assert queue.sweep(now=mtime + STALE + 1) == 2
    assert _files(queue.path / "tmp") == set()


def test_sweep_of_a_queue_never_made_removes_nothing(tmp_path: Path) -> None:
    assert OutboundQueue(tmp_path / "none").sweep() == 0


def test_held_is_exclusive_across_two_opens(tmp_path: Path) -> None:
    mine, theirs = OutboundQueue(tmp_path), OutboundQueue(tmp_path)
    mine.commit(_stage(mine, "e1"))
    with mine.held("e1") as data:
        assert data is not None and data.read() == DATA
        with pytest.raises(EntryBusyError, match="e1 is being sent right now"), theirs.held("e1"):
            pass
    with theirs.held("e1") as data:  # released with the first holder
        assert data is not None
    assert data.closed


def test_held_gives_none_for_an_entry_that_is_gone(queue: OutboundQueue) -> None:
    with queue.held("never") as data:
        assert data is None
    queue.commit(_stage(queue, "e1"))
    (queue.path / "e1.json").unlink()  # removed meanwhile: its data only is left
    with queue.held("e1") as data:
        assert data is None


def test_update_replaces_the_entry(tmp_path: Path) -> None:
    queue = OutboundQueue(tmp_path)
    queue.commit(_stage(queue, "e1", recipients=("a@x.test", "b@x.test")))
    before = (queue.path / "e1.json").stat().st_ino
    later = entry(
        "e1", recipients=("b@x.test",), attempts=3, next_try=123.5, last_error="451 4.3.0 later"
    )
    queue.update(later)
    assert (queue.path / "e1.json").stat().st_ino != before  # a new file renamed in place
    assert OutboundQueue(tmp_path).load("e1") == later  # another process reads the change
    assert _files(queue.path / "tmp") == set()
    assert (queue.path / "e1.msg").read_bytes() == DATA


def test_remove_takes_both_files(queue: OutboundQueue) -> None:
    queue.commit(_stage(queue, "e1"))
    queue.commit(_stage(queue, "e2"))
    queue.remove("e1")
    assert _files(queue.path) == {"e2.msg", "e2.json"}
    assert queue.load("e1") is None
    queue.remove("e1")  # gone already: no error


def test_record_dropped_appends_one_json_line_each(queue: OutboundQueue) -> None:
    first = Dropped("e1", "Q1", "s@in.test", "a@x.test", "550 5.1.1 unknown", 1.5)
    second = Dropped("e2", "Q2", "", "jos\u00e9@x.test", "given up after 3 tries: 451", 2.5)
    queue.record_dropped([])
    assert not (queue.path / "dropped.jsonl").exists()
    queue.record_dropped([first])
    queue.record_dropped([second])
    lines = (queue.path / "dropped.jsonl").read_bytes().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "e1", "queue_id": "Q1", "sender": "s@in.test", "recipient": "a@x.test",
         "reply": "550 5.1.1 unknown", "at": 1.5},
        {"id": "e2", "queue_id": "Q2", "sender": "", "recipient": "jos\u00e9@x.test",
         "reply": "given up after 3 tries: 451", "at": 2.5},
    ]  # fmt: skip
    assert queue.dropped() == [first, second]
    assert (queue.path / "dropped.jsonl").stat().st_mode & 0o777 == 0o600


def test_dropped_skips_a_line_a_crash_cut_short(queue: OutboundQueue) -> None:
    first = Dropped("e1", "Q1", "s@in.test", "a@x.test", "550", 1.0)
    queue.record_dropped([first])
    with open(queue.path / "dropped.jsonl", "ab") as log:
        log.write(b'{"id": "e2", "queue')
    assert queue.dropped() == [first]
    assert OutboundQueue(queue.path.parent / "none").dropped() == []


def test_request_flush_leaves_a_mark_that_says_when(queue: OutboundQueue) -> None:
    assert queue.flush_requested_at() == 0.0
    before = time.time()
    queue.request_flush()
    assert queue.flush_requested_at() >= before - 1  # the filesystem's clock, coarse
    assert (queue.path / "flush").exists()
    old = before - 100
    os.utime(queue.path / "flush", (old, old))
    queue.request_flush()  # again: the mark moves on
    assert queue.flush_requested_at() > old


CORRUPT: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("half written", entry("bad").to_json()[:30]),
    ("not an object", b'"bad"'),
    ("wrong types", entry("bad").to_json().replace(b'"attempts": 0', b'"attempts": "x"')),
    ("another entry's", entry("other").to_json()),
]


@pytest.mark.parametrize("data", [c[1] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_an_entry_that_cannot_be_read_is_logged_and_the_others_listed(
    queue: OutboundQueue, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    queue.commit(_stage(queue, "a"))
    queue.commit(_stage(queue, "bad"))
    queue.commit(_stage(queue, "c"))
    (queue.path / "bad.json").write_bytes(data)
    with caplog.at_level(logging.ERROR, "postier.relay"):
        assert queue.entries() == [entry("a"), entry("c")]
    assert "bad.json cannot be read" in caplog.text
    with pytest.raises(EntryError):
        queue.load("bad")
    assert queue.names() == {"a", "bad", "c"}  # left on disk for a person to look at
    assert (queue.path / "bad.msg").read_bytes() == DATA


def test_names_ignore_what_is_not_an_entry(queue: OutboundQueue) -> None:
    queue.commit(_stage(queue, "e1"))
    queue.record_dropped([Dropped("x", "Q", "", "a@x.test", "550", 0.0)])
    queue.request_flush()
    (queue.path / ".hidden.json").write_bytes(b"{}")
    assert queue.names() == {"e1"}
    assert OutboundQueue(queue.path.parent / "none").names() == set()
