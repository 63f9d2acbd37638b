"""The background compactor: requests coalesce, a busy mbox is retried, leftovers are
picked up at start, and close finishes the work."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import pytest

from postier.store.identity import IdAssigner
from postier.store.read.compactor import BackgroundCompactor
from postier.store.read.mbox_changes import pending_changes, record_changes
from postier.store.read.mbox_compact import LOCKS_DIR, CompactResult
from postier.store.read.scan import iter_mbox

ENTRY = "a@x.mbox"
ENVELOPE = b"From s@y Thu Nov 27 02:23:09 2026\n"


def make_mbox(store_dir: Path, entry: str = ENTRY, count: int = 4) -> list[str]:
    """An mbox of `count` distinct messages; their IDs."""
    store_dir.mkdir(exist_ok=True)
    path = store_dir / entry
    path.write_bytes(b"".join(ENVELOPE + b"Subject: %d\n\nbody\n\n" % n for n in range(count)))
    fd = os.open(path, os.O_RDONLY)
    try:
        assigner = IdAssigner(entry.removesuffix(".mbox"))
        return [assigner.assign(m.raw) for m in iter_mbox(fd, 0, os.fstat(fd).st_size)]
    finally:
        os.close(fd)


def test_requests_coalesce_and_flush_runs_them(store_dir: Path) -> None:
    ids = make_mbox(store_dir)
    done: list[tuple[str, CompactResult]] = []
    with BackgroundCompactor(
        store_dir, delay=3600, fsync=False, on_done=lambda e, r: done.append((e, r))
    ) as compactor:
        record_changes(store_dir, ENTRY, delete=[ids[0]], fsync=False)
        compactor.request(ENTRY)
        record_changes(store_dir, ENTRY, delete=[ids[1]], fsync=False)
        compactor.request(ENTRY)
        assert compactor.flush(30)  # without waiting for the hour of delay
    assert done == [(ENTRY, CompactResult((ids[0], ids[1]), (), 2, done[0][1].size))]
    assert not pending_changes(store_dir, ENTRY)


def test_leftover_logs_are_compacted_at_start(store_dir: Path) -> None:
    ids = make_mbox(store_dir)
    other = make_mbox(store_dir, "b@x.mbox")
    record_changes(store_dir, ENTRY, seen={ids[2]: True}, fsync=False)
    record_changes(store_dir, "b@x.mbox", delete=other[:1], fsync=False)
    done: list[str] = []
    with BackgroundCompactor(store_dir, fsync=False, on_done=lambda e, r: done.append(e)) as c:
        assert c.flush(30)
    assert sorted(done) == [ENTRY, "b@x.mbox"]
    assert b"Status: RO" in (store_dir / ENTRY).read_bytes()


def test_a_busy_mbox_is_tried_again(store_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    ids = make_mbox(store_dir)
    record_changes(store_dir, ENTRY, delete=[ids[0]], fsync=False)
    (store_dir / LOCKS_DIR).mkdir(parents=True)
    done: list[str] = []
    with (store_dir / LOCKS_DIR / ENTRY).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process compacting it
        compactor = BackgroundCompactor(
            store_dir, retry_delay=0.01, lock_timeout=0.01, fsync=False,
            on_done=lambda e, r: done.append(e),
        )  # fmt: skip
        with caplog.at_level(logging.INFO, "postier.store"):
            assert not compactor.flush(0.3)
        assert "compaction put off" in caplog.text
        assert done == []
    assert compactor.flush(30)
    compactor.close()
    assert done == [ENTRY]


def test_close_finishes_pending_work_and_failures_are_logged(
    store_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = make_mbox(store_dir)
    (store_dir / "bad.mbox").write_bytes(b"not an mbox\n")
    record_changes(store_dir, "bad.mbox", delete=["x"], fsync=False)
    compactor = BackgroundCompactor(store_dir, delay=3600, fsync=False)
    record_changes(store_dir, ENTRY, delete=[ids[3]], fsync=False)
    compactor.request(ENTRY)
    with caplog.at_level(logging.ERROR, "postier.store"):
        compactor.close(30)
    assert "mbox bad.mbox: compaction failed" in caplog.text
    assert not pending_changes(store_dir, ENTRY)
    with pytest.raises(RuntimeError):
        compactor.request(ENTRY)
