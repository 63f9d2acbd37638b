"""Compaction: deletions and read states written into the mbox, everything else byte for
byte, IDs kept, and deliveries during it never lost."""

from __future__ import annotations

import fcntl
import mailbox
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from postier.store import LockTimeoutError, MboxStore
from postier.store.identity import IdAssigner
from postier.store.journal import JOURNAL_DIR, Journal
from postier.store.journal_record import JournalEntries
from postier.store.read import mbox_compact as compaction
from postier.store.read.mbox_changes import entries_with_changes, pending_changes, record_changes
from postier.store.read.mbox_compact import LOCKS_DIR, CompactResult, compact, temp_path
from postier.store.read.scan import iter_mbox
from tests.store.helpers import MESSAGE, envelope, mbox_messages, spool

ENTRY = "a@x.mbox"
ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = b"From sender@y Thu Nov 27 02:23:09 2026\n"


def foreign(number: int, status: bytes | None = None, body: bytes = b"Hello.\n") -> bytes:
    """A message as another tool filed it, mboxrd-quoted, with its `From ` line and empty line."""
    head = b"From: s@y\nSubject: m%d\nMessage-ID: <%d@y>\n" % (number, number)
    if status is not None:
        head += b"Status: " + status + b"\n"
    return ENVELOPE + head + b"X-After: 1\n\n" + body + b"\n"


MESSAGES = [
    foreign(0),
    foreign(1, b"O"),
    foreign(2, b"RO"),
    foreign(3, b"R"),
    foreign(4, body=b">From a quoted line\n>>From twice\nFrom: not a header\n"),
]


def write_mbox(path: Path, messages: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(messages))


def ids_and_raw(path: Path) -> list[tuple[str, bytes]]:
    """Each message's stable ID and bytes (quoting undone), in file order."""
    assigner = IdAssigner(path.name.removesuffix(".mbox"))
    fd = os.open(path, os.O_RDONLY)
    try:
        found = iter_mbox(fd, 0, os.fstat(fd).st_size)
        return [(assigner.assign(m.raw), m.raw) for m in found]
    finally:
        os.close(fd)


def with_header(message: bytes, old: bytes | None, new: bytes | None) -> bytes:
    """`message` (as `foreign` wrote it) with its `Status:` changed from `old` to `new`."""
    before = b"Status: " + old + b"\n" if old is not None else b""
    after = b"Status: " + new + b"\n" if new is not None else b""
    if old is None:
        return message.replace(b"X-After: 1\n\n", b"X-After: 1\n" + after + b"\n", 1)
    return message.replace(before, after, 1)


# (deleted, read state asked, expected file: each message kept or changed, or None when gone)
CASES = {
    "nothing but a delete": ({4}, {}, []),
    "read, no Status yet": (set(), {0: True}, [with_header(MESSAGES[0], None, b"RO")]),
    "read an old one": (set(), {1: True}, [None, with_header(MESSAGES[1], b"O", b"RO")]),
    "unread a read one": (set(), {2: False}, [None, None, with_header(MESSAGES[2], b"RO", b"O")]),
    "unread empties Status": (set(), {3: False}, [
        None, None, None, with_header(MESSAGES[3], b"R", None)
    ]),
    "already so: unchanged": (set(), {0: False, 2: True}, []),
    "delete and edit": ({0, 2}, {1: True, 3: False, 4: True}, [
        None,
        with_header(MESSAGES[1], b"O", b"RO"),
        None,
        with_header(MESSAGES[3], b"R", None),
        with_header(MESSAGES[4], None, b"RO"),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_deletions_and_status_edits(store_dir: Path, case: str) -> None:
    deleted, seen, edited = CASES[case]
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    before = ids_and_raw(path)
    ids = [message_id for message_id, _ in before]
    record_changes(
        store_dir,
        ENTRY,
        delete=[ids[n] for n in deleted],
        seen={ids[n]: state for n, state in seen.items()},
    )
    result = compact(store_dir, ENTRY)
    edited = edited + [None] * (len(MESSAGES) - len(edited))
    expected = [
        edited[n] or MESSAGES[n]  # unchanged: byte for byte
        for n in range(len(MESSAGES))
        if n not in deleted
    ]
    assert path.read_bytes() == b"".join(expected)
    assert set(result.removed) == {ids[n] for n in deleted}
    assert set(result.changed) == {ids[n] for n, message in enumerate(edited) if message}
    assert (result.kept, result.size) == (len(expected), path.stat().st_size)
    after = ids_and_raw(path)
    # Each kept message keeps its ID; Python's `mailbox` reads the same messages.
    assert [message_id for message_id, _ in after] == [
        i for n, i in enumerate(ids) if n not in deleted
    ]
    assert mbox_messages(path) == [raw for _, raw in after]
    assert pending_changes(store_dir, ENTRY) == pending_changes(store_dir, "none.mbox")
    assert entries_with_changes(store_dir) == []
    assert sorted(os.listdir(store_dir)) == [".postier", ENTRY]  # no temporary file left


def test_quoted_lines_survive(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    ids = [message_id for message_id, _ in ids_and_raw(path)]
    record_changes(store_dir, ENTRY, delete=ids[:4], seen={ids[4]: True})
    compact(store_dir, ENTRY)
    data = path.read_bytes()
    assert b"\n>From a quoted line\n>>From twice\n>From: not a header\n" not in data
    assert data.count(b"\nFrom ") == 0  # one message: no separator after its start
    [(_, raw)] = ids_and_raw(path)
    assert b"\nFrom a quoted line\n>From twice\n" in raw
    box = mailbox.mbox(path, create=False)
    try:
        [read_back] = box
        assert read_back.get_flags() == "RO"
    finally:
        box.close()


def test_deleting_everything_leaves_an_empty_file(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    mode = 0o640
    path.chmod(mode)
    record_changes(store_dir, ENTRY, delete=[i for i, _ in ids_and_raw(path)])
    assert compact(store_dir, ENTRY) == CompactResult(
        tuple(i for i, _ in ids_and_raw_of(MESSAGES, store_dir)), (), 0, 0
    )
    assert path.read_bytes() == b""
    assert path.stat().st_mode & 0o777 == mode
    assert mbox_messages(path) == []


def ids_and_raw_of(messages: list[bytes], directory: Path) -> list[tuple[str, bytes]]:
    copy = directory / "copy" / ENTRY
    write_mbox(copy, messages)
    return ids_and_raw(copy)


def test_without_pending_changes_the_file_stays(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    inode = path.stat().st_ino
    assert compact(store_dir, ENTRY) == CompactResult((), (), len(MESSAGES), path.stat().st_size)
    assert path.stat().st_ino == inode
    assert compact(store_dir, "missing.mbox") == CompactResult((), (), 0, 0)


def test_postier_messages_and_twins_keep_their_ids(store_dir: Path) -> None:
    with MboxStore(store_dir, fsync=False) as store, spool(MESSAGE) as message:
        for n in range(4):
            store.deliver(envelope(recipients=("a@x",), queue_id=f"Q{n}"), message)
    path = store_dir / ENTRY
    with path.open("ab") as mbox:
        mbox.write(foreign(9) * 3)  # identical twins: told apart by their ordinal
    before = ids_and_raw(path)
    ids = [message_id for message_id, _ in before]
    record_changes(store_dir, ENTRY, delete=[ids[1], ids[6]], seen={ids[4]: True})
    result = compact(store_dir, ENTRY)
    assert result.removed == (ids[1], ids[6])
    assert result.changed == (ids[4],)
    assert [i for i, _ in ids_and_raw(path)] == [ids[0], ids[2], ids[3], ids[4], ids[5]]


def test_a_crashed_compactions_file_is_removed_by_the_next(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    stale = temp_path(store_dir, ENTRY)
    stale.write_bytes(MESSAGES[0][:30])  # a kill -9 while it was written
    record_changes(store_dir, ENTRY, delete=[ids_and_raw(path)[0][0]])
    compact(store_dir, ENTRY)
    assert not stale.exists()
    assert path.read_bytes() == b"".join(MESSAGES[1:])


def hook_locked_phase(monkeypatch: pytest.MonkeyPatch, before: Callable[[], None]) -> None:
    """Run `before` between the unlocked copy and the locked phase of each compaction."""
    real = compaction._Compaction._finish

    def finish(self: compaction._Compaction, bulk: compaction._Bulk) -> CompactResult | None:
        before()
        return real(self, bulk)

    monkeypatch.setattr(compaction._Compaction, "_finish", finish)


def test_appended_meanwhile_is_copied_and_logged_meanwhile_stays_pending(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    ids = [i for i, _ in ids_and_raw(path)]
    record_changes(store_dir, ENTRY, delete=[ids[0]])

    def meanwhile() -> None:
        with MboxStore(store_dir) as store, spool(MESSAGE) as message:
            store.deliver(envelope(recipients=("a@x",), queue_id="late"), message)
        record_changes(store_dir, ENTRY, delete=[ids[1]], seen={ids[2]: False})

    hook_locked_phase(monkeypatch, meanwhile)
    result = compact(store_dir, ENTRY)
    assert result.removed == (ids[0],)
    after = ids_and_raw(path)
    assert [i for i, _ in after][:4] == ids[1:]
    assert b"id late" in after[-1][1]
    changes = pending_changes(store_dir, ENTRY)  # carried over to the new file
    assert (changes.delete, dict(changes.seen)) == ({ids[1]}, {ids[2]: False})
    monkeypatch.undo()
    assert compact(store_dir, ENTRY).removed == (ids[1],)
    assert not pending_changes(store_dir, ENTRY)


def test_a_delivery_waiting_on_the_old_file_appends_to_the_new_one(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MboxStore(store_dir)
    threads: list[threading.Thread] = []
    with store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x",), queue_id="first"), message)  # file kept open
        path = store_dir / ENTRY
        old = path.stat().st_ino
        record_changes(store_dir, ENTRY, delete=[ids_and_raw(path)[0][0]])
        real_rename = os.rename

        def rename_after_a_delivery_started(source: str, target: str) -> None:
            # We hold the mailbox's locks: the delivery waits for them on the old file.
            thread = threading.Thread(
                target=store.deliver,
                args=(envelope(recipients=("a@x",), queue_id="waited"), message),
            )
            thread.start()
            threads.append(thread)
            real_rename(source, target)

        monkeypatch.setattr(compaction.os, "rename", rename_after_a_delivery_started)
        compact(store_dir, ENTRY)
        monkeypatch.undo()
        threads[0].join(30)
        assert path.stat().st_ino != old
        store.deliver(envelope(recipients=("a@x",), queue_id="after"), message)
    queue_ids = [raw.split(b" id ")[1].split(b"\n")[0] for _, raw in ids_and_raw(path)]
    assert queue_ids == [b"waited", b"after"]


def test_a_dead_delivery_is_recovered_before_the_file_is_replaced(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    journal = Journal(store_dir, fsync=False)
    transaction = journal.begin(JournalEntries(mbox_sizes={ENTRY: path.stat().st_size}))
    with path.open("ab") as mbox:
        mbox.write(ENVELOPE + b"Subject: half a mess")  # then the process died
    transaction.abandon()
    journal.close()
    record_changes(store_dir, ENTRY, delete=[ids_and_raw_of(MESSAGES, store_dir)[0][0]])
    result = compact(store_dir, ENTRY)
    assert result.kept == len(MESSAGES) - 1
    assert path.read_bytes() == b"".join(MESSAGES[1:])
    assert os.listdir(store_dir / JOURNAL_DIR) == []


def test_another_compaction_of_the_same_mbox_waits(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, MESSAGES)
    record_changes(store_dir, ENTRY, delete=[ids_and_raw(path)[0][0]])
    (store_dir / LOCKS_DIR).mkdir(parents=True)
    with (store_dir / LOCKS_DIR / ENTRY).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the compaction of another process does
        with pytest.raises(LockTimeoutError):
            compact(store_dir, ENTRY, lock_timeout=0.05)
        assert path.read_bytes() == b"".join(MESSAGES)
    assert compact(store_dir, ENTRY).kept == len(MESSAGES) - 1


def test_two_compactions_at_once_apply_each_change_once(store_dir: Path) -> None:
    path = store_dir / ENTRY
    write_mbox(path, [foreign(n) for n in range(100)])
    ids = [i for i, _ in ids_and_raw(path)]
    record_changes(store_dir, ENTRY, delete=ids[::2])
    results: list[CompactResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(compact(store_dir, ENTRY))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(len(result.removed) for result in results) == [0, 0, 0, len(ids[::2])]
    assert [i for i, _ in ids_and_raw(path)] == ids[1::2]


DELIVERER = """
import sys
from pathlib import Path
from postier.store import MboxStore
from tests.store.helpers import MESSAGE, envelope, spool
with MboxStore(Path(sys.argv[1])) as store, spool(MESSAGE) as message:
    for n in range(int(sys.argv[2])):
        store.deliver(envelope(recipients=("a@x",), queue_id=f"P{n}"), message)
"""


def test_deliveries_in_threads_and_another_process_during_compactions(store_dir: Path) -> None:
    count = 150
    write_mbox(store_dir / ENTRY, [foreign(n) for n in range(300)])
    ids = [i for i, _ in ids_and_raw(store_dir / ENTRY)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    command = [sys.executable, "-c", DELIVERER, str(store_dir), str(count)]
    with MboxStore(store_dir, fsync=False) as store, subprocess.Popen(command, env=env) as child:

        def deliver(name: str) -> None:
            with spool(MESSAGE) as message:
                for n in range(count):
                    store.deliver(envelope(recipients=("a@x",), queue_id=f"{name}{n}"), message)

        threads = [threading.Thread(target=deliver, args=(f"T{n}-",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for batch in range(10):
            record_changes(store_dir, ENTRY, delete=ids[batch * 30 : batch * 30 + 30])
            compact(store_dir, ENTRY)
        for thread in threads:
            thread.join(60)
        assert child.wait(60) == 0
    queue_ids = [
        raw.split(b" id ")[1].split(b"\n")[0].decode() for _, raw in ids_and_raw(store_dir / ENTRY)
    ]
    expected = {f"{name}{n}" for name in ("P", "T0-", "T1-") for n in range(count)}
    assert sorted(queue_ids) == sorted(expected)  # none lost, none twice, every foreign one gone
