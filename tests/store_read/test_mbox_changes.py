"""The log of pending mbox changes: later records win, torn lines and other files' records
do not count, concurrent appenders never mix their lines."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from postier.store.read.mbox_changes import (
    CHANGES_DIR,
    LockedLog,
    MboxChanges,
    entries_with_changes,
    identity_of,
    log_path,
    parse_log,
    pending_changes,
    record_changes,
)
from tests.store.helpers import spy_fsync

ENTRY = "a@x.mbox"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mbox(store_dir: Path) -> Path:
    store_dir.mkdir()
    path = store_dir / ENTRY
    path.write_bytes(b"From a@b Thu Nov 27 02:23:09 2026\nSubject: x\n\nhi\n\n")
    return path


def test_nothing_logged_means_no_changes(store_dir: Path, mbox: Path) -> None:
    assert pending_changes(store_dir, ENTRY) == MboxChanges(frozenset(), {})
    assert not pending_changes(store_dir, ENTRY)
    assert pending_changes(store_dir, "missing.mbox") == MboxChanges(frozenset(), {})


def test_later_records_win_and_deletions_add_up(store_dir: Path, mbox: Path) -> None:
    record_changes(store_dir, ENTRY, delete=["d1"], seen={"s1": True, "s2": True})
    record_changes(store_dir, ENTRY, delete=["d2"], seen={"s1": False})
    record_changes(store_dir, ENTRY, seen={"s3": False})
    changes = pending_changes(store_dir, ENTRY)
    assert changes.delete == {"d1", "d2"}
    assert dict(changes.seen) == {"s1": False, "s2": True, "s3": False}
    assert entries_with_changes(store_dir) == [ENTRY]


def test_an_empty_change_writes_nothing(store_dir: Path, mbox: Path) -> None:
    record_changes(store_dir, ENTRY)
    assert not log_path(store_dir, ENTRY).exists()
    assert entries_with_changes(store_dir) == []


def test_no_log_for_a_missing_mbox(store_dir: Path) -> None:
    store_dir.mkdir()
    with pytest.raises(FileNotFoundError):
        record_changes(store_dir, ENTRY, delete=["d1"])


def test_records_of_a_replaced_file_do_not_count(store_dir: Path, mbox: Path) -> None:
    record_changes(store_dir, ENTRY, delete=["old"])
    replacement = store_dir / ".replacement"
    replacement.write_bytes(mbox.read_bytes())
    os.rename(replacement, mbox)  # what compaction does
    assert pending_changes(store_dir, ENTRY).delete == frozenset()
    record_changes(store_dir, ENTRY, delete=["new"])
    assert pending_changes(store_dir, ENTRY).delete == {"new"}


def test_a_torn_last_line_is_ignored_and_the_next_record_stands_alone(
    store_dir: Path, mbox: Path
) -> None:
    record_changes(store_dir, ENTRY, delete=["d1"])
    path = log_path(store_dir, ENTRY)
    whole = path.read_bytes()
    with path.open("ab") as log:
        log.write(whole[: len(whole) // 2])  # a kill -9 in the middle of an append
    assert pending_changes(store_dir, ENTRY).delete == {"d1"}
    record_changes(store_dir, ENTRY, delete=["d2"])
    assert pending_changes(store_dir, ENTRY).delete == {"d1", "d2"}
    assert path.read_bytes().endswith(b"\n")


def test_lines_not_ours_are_skipped() -> None:
    data = b'[1]\n{"file": [1, 2], "delete": [3], "seen": {}}\n{"file": [1, 2]}\nnot json\n'
    assert parse_log(data) == []


def test_the_log_and_its_directory_are_flushed(
    store_dir: Path, mbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = spy_fsync(monkeypatch)
    record_changes(store_dir, ENTRY, delete=["d1"])
    assert str(log_path(store_dir, ENTRY)) in synced
    assert str(store_dir / CHANGES_DIR) in synced
    synced.clear()
    record_changes(store_dir, ENTRY, delete=["d2"], fsync=False)
    assert synced == []


def test_keep_only_drops_other_files_records(store_dir: Path, mbox: Path) -> None:
    record_changes(store_dir, ENTRY, delete=["d1"])
    current = identity_of(os.stat(mbox))
    with LockedLog(store_dir, ENTRY, fsync=False) as log:
        log.append([r.for_file((0, 1)) for _, r in log.read()[0]])
        records, _ = log.keep_only(current)
        assert [record.file for _, record in records] == [current]
    assert len(parse_log(log_path(store_dir, ENTRY).read_bytes())) == 1
    with LockedLog(store_dir, ENTRY, fsync=False) as log:
        assert log.keep_only(None) == ([], 0)
    assert not log_path(store_dir, ENTRY).exists()
    record_changes(store_dir, ENTRY, delete=["d2"])  # a new log in its place
    assert pending_changes(store_dir, ENTRY).delete == {"d2"}


APPENDER = """
import sys
from pathlib import Path
from postier.store.read.mbox_changes import record_changes
store, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(count):
    record_changes(store, "a@x.mbox", delete=[f"{name}-{n}"], seen={f"{name}-s": n % 2 == 0})
"""


def test_concurrent_appenders_never_mix_their_lines(store_dir: Path, mbox: Path) -> None:
    count = 200
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    command = [sys.executable, "-c", APPENDER, str(store_dir)]
    with (
        subprocess.Popen([*command, "p1", str(count)], env=env) as one,
        subprocess.Popen([*command, "p2", str(count)], env=env) as two,
    ):

        def append(name: str) -> None:
            for n in range(count):
                record_changes(store_dir, ENTRY, delete=[f"{name}-{n}"], fsync=False)

        threads = [threading.Thread(target=append, args=(f"t{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert one.wait(60) == 0
        assert two.wait(60) == 0
    data = log_path(store_dir, ENTRY).read_bytes()
    assert len(parse_log(data)) == data.count(b"\n") == 5 * count
    changes = pending_changes(store_dir, ENTRY)
    names = ("p1", "p2", "t0", "t1", "t2")
    assert changes.delete == {f"{name}-{n}" for name in names for n in range(count)}
    assert dict(changes.seen) == {"p1-s": False, "p2-s": False}  # each one's last record
