"""Crash recovery: a delivery killed half-way is rolled back, and nothing else is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from postier.store import MaildirStore, MboxStore, open_store, recover
from postier.store.journal import JOURNAL_DIR, Journal
from postier.store.journal_record import CLEARED, JournalEntries, holds_transaction
from tests.store.helpers import MESSAGE, envelope, maildir_messages, mbox_messages, spool

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import os, signal, sys
from pathlib import Path
from postier.store import MboxStore, MaildirStore, fileio, recovery
from postier.store.journal import Journal
from postier.store.journal_record import JournalEntries
from tests.store.helpers import MESSAGE, envelope, spool

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

store_dir = Path(sys.argv[1])
"""


def python(script: str, store_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), str(store_dir)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def killed(script: str, store_dir: Path) -> None:
    """Run `script` in a child that is expected to kill itself with SIGKILL."""
    child = python(script, store_dir)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def journals(store_dir: Path) -> list[Path]:
    return sorted((store_dir / JOURNAL_DIR).iterdir())


CRASH_MID_APPEND = """
    real = fileio.write_chunks
    def half_then_die(fd, chunks, buffer_size=1 << 18):
        if "b@x" not in os.readlink(f"/proc/self/fd/{fd}"):
            return real(fd, chunks, buffer_size)
        data = b"".join(chunks)
        fileio.write_all(fd, data[: len(data) // 2])
        die()
    fileio.write_chunks = half_then_die
    with spool(MESSAGE) as message:
        MboxStore(store_dir).deliver(envelope(recipients=("a@x", "b@x"), queue_id="crash"), message)
"""


@pytest.fixture
def mbox_before(store_dir: Path) -> dict[str, bytes]:
    """Two mailboxes with one committed message each; their bytes."""
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x", "b@x"), queue_id="first"), message)
    return {name: (store_dir / name).read_bytes() for name in ("a@x.mbox", "b@x.mbox")}


def test_crash_mid_append_is_rolled_back_at_start_up(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    killed(CRASH_MID_APPEND, store_dir)
    assert len(journals(store_dir)) == 1
    for name, data in mbox_before.items():  # a@x complete, b@x half-written
        assert len((store_dir / name).read_bytes()) > len(data)
    open_store(store_dir, "mbox").close()
    assert journals(store_dir) == []
    for name, data in mbox_before.items():
        assert (store_dir / name).read_bytes() == data


def test_running_store_recovers_before_appending_behind_a_dead_delivery(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("b@x",), queue_id="warm"), message)  # fd cached
        killed(CRASH_MID_APPEND, store_dir)
        store.deliver(envelope(recipients=("b@x",), queue_id="after"), message)
    assert journals(store_dir) == []
    assert (store_dir / "a@x.mbox").read_bytes() == mbox_before["a@x.mbox"]
    copies = mbox_messages(store_dir / "b@x.mbox")
    assert [copy.split(b" id ")[1].split(b"\n")[0] for copy in copies] == [
        b"first",
        b"warm",
        b"after",
    ]
    assert all(copy.endswith(b"Hello.\n") for copy in copies)


def test_crash_during_recovery_is_recovered_again(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    killed(CRASH_MID_APPEND, store_dir)
    killed(
        """
        os.unlink = die  # truncated, then killed before the journal is removed
        recovery.recover(store_dir)
        """,
        store_dir,
    )
    assert len(journals(store_dir)) == 1
    assert recover(store_dir) == 1
    assert recover(store_dir) == 0
    for name, data in mbox_before.items():
        assert (store_dir / name).read_bytes() == data


def test_journal_of_a_live_process_is_left_alone(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    size = len(mbox_before["a@x.mbox"])
    child = python(
        f"""
        transaction = Journal(store_dir, fsync=True).begin(
            JournalEntries(mbox_sizes={{"a@x.mbox": {size}}})
        )
        print("ready", flush=True)
        sys.stdin.read()  # until the test lets go
        """,
        store_dir,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        with (store_dir / "a@x.mbox").open("ab") as mailbox:
            mailbox.write(b"From half-written\n")
        assert recover(store_dir) == 0
        assert len(journals(store_dir)) == 1
        assert (store_dir / "a@x.mbox").read_bytes().endswith(b"half-written\n")
    finally:
        child.communicate(timeout=30)  # closes its stdin: it exits without committing
    assert recover(store_dir) == 1
    assert (store_dir / "a@x.mbox").read_bytes() == mbox_before["a@x.mbox"]


def test_maildir_crash_between_renames_is_rolled_back(store_dir: Path) -> None:
    with MaildirStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x", "b@x"), queue_id="first"), message)
    killed(
        """
        real = os.rename
        def second_kills(source, target):
            if "/b@x/" in str(source):
                die()
            real(source, target)
        os.rename = second_kills
        with spool(MESSAGE) as message:
            MaildirStore(store_dir).deliver(envelope(recipients=("a@x", "b@x")), message)
        """,
        store_dir,
    )
    assert len(list((store_dir / "a@x" / "new").iterdir())) == 2  # renamed, not committed
    open_store(store_dir, "maildir").close()
    for name in ("a@x", "b@x"):
        [copy] = maildir_messages(store_dir / name)
        assert b" id first\n" in copy
        assert list((store_dir / name / "tmp").iterdir()) == []
    assert journals(store_dir) == []


def test_maildir_crash_after_every_rename_keeps_the_batch(store_dir: Path) -> None:
    """Every copy was flushed before its rename: the batch is whole, so it is kept (its
    client, unanswered, may send it again: a duplicate, never a loss)."""
    killed(
        """
        fileio.fsync_dir = lambda path: die() if str(path).endswith("/new") else None
        with spool(MESSAGE) as message:
            MaildirStore(store_dir).deliver(envelope(recipients=("a@x", "b@x")), message)
        """,
        store_dir,
    )
    assert recover(store_dir) == 1
    for name in ("a@x", "b@x"):
        assert len(maildir_messages(store_dir / name)) == 1
        assert list((store_dir / name / "tmp").iterdir()) == []


APPENDED = b"From appended by the batch\n\nwhole\n\n"


def append_batch(store_dir: Path, missing: dict[str, int]) -> None:
    """Append `APPENDED` to each mailbox of `missing`, less that many bytes at its end."""
    for name, short in missing.items():
        with (store_dir / name).open("ab") as mailbox:
            mailbox.write(APPENDED[: len(APPENDED) - short])


def dead_journal(store_dir: Path, entries: JournalEntries, ends: dict[str, int] | None) -> None:
    """Leave a journal with `entries` (and a completion with `ends`) as a dead process would."""
    journal = Journal(store_dir, fsync=True)
    try:
        transaction = journal.begin(entries)
        if ends is not None:
            transaction.complete(ends)
        transaction.abandon()
    finally:
        journal.close()


def test_mbox_batch_with_its_completion_is_kept(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    """Its clients may have heard 250 before the record was cleared."""
    before = {name: len(data) for name, data in mbox_before.items()}
    for name in before:
        with (store_dir / name).open("ab") as mailbox:
            mailbox.write(b"From appended by the batch\n\nwhole\n\n")
    grown = {name: (store_dir / name).read_bytes() for name in before}
    dead_journal(
        store_dir,
        JournalEntries(mbox_sizes=before),
        {name: len(data) for name, data in grown.items()},
    )
    assert recover(store_dir) == 1
    assert journals(store_dir) == []
    for name, data in grown.items():
        assert (store_dir / name).read_bytes() == data


@pytest.mark.parametrize("short", [1, 20])
def test_mbox_batch_shorter_than_its_completion_is_rolled_back(
    store_dir: Path, mbox_before: dict[str, bytes], short: int
) -> None:
    """The completion was flushed but not all of a mailbox: that batch was not answered."""
    before = {name: len(data) for name, data in mbox_before.items()}
    append_batch(store_dir, {"a@x.mbox": 0, "b@x.mbox": short})
    dead_journal(
        store_dir,
        JournalEntries(mbox_sizes=before),
        {name: size + len(APPENDED) for name, size in before.items()},
    )
    assert recover(store_dir) == 1
    for name, data in mbox_before.items():
        assert (store_dir / name).read_bytes() == data


@pytest.mark.parametrize("whole", [True, False])
def test_mbox_record_that_knew_its_ends_is_kept_when_whole(
    store_dir: Path, mbox_before: dict[str, bytes], whole: bool
) -> None:
    """A batch laid out in memory writes its ends in the record itself (no completion)."""
    before = {name: len(data) for name, data in mbox_before.items()}
    append_batch(store_dir, {name: 0 if whole else 5 for name in before})
    ends = {name: size + len(APPENDED) for name, size in before.items()}
    dead_journal(store_dir, JournalEntries(mbox_sizes=before, mbox_ends=ends), None)
    assert recover(store_dir) == 1
    for name, data in mbox_before.items():
        expected = data + APPENDED if whole else data
        assert (store_dir / name).read_bytes() == expected


def test_completion_of_an_earlier_record_does_not_count(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    sizes = {name: len(data) for name, data in mbox_before.items()}
    journal = Journal(store_dir, fsync=True)
    try:
        first = journal.begin(JournalEntries(mbox_sizes=sizes))
        first.complete(sizes)
        first.commit()
        with (store_dir / "a@x.mbox").open("ab") as mailbox:
            mailbox.write(b"From half-written\n")
        journal.begin(JournalEntries(mbox_sizes=sizes)).abandon()
    finally:
        journal.close()
    [path] = journals(store_dir)
    decoded = JournalEntries.decode(path.read_bytes())
    assert decoded is not None and decoded.mbox_ends is None
    assert recover(store_dir) == 1
    assert (store_dir / "a@x.mbox").read_bytes() == mbox_before["a@x.mbox"]


@pytest.mark.parametrize(
    "completion",
    [
        b'{"id":1,"ends":{"a@x.mbox":5}',  # torn
        b'{"id":2,"ends":{"a@x.mbox":50}}',  # another record's
        b'{"id":1,"ends":{"b@x.mbox":50}}',  # other mailboxes
        b'{"id":1,"ends":{"a@x.mbox":3}}',  # shorter than before
        b'{"id":1,"ends":{"a@x.mbox":"50"}}',
        b'{"id":1}',
        b"\xff\xfe",
    ],
)
def test_a_doubtful_completion_is_no_completion(completion: bytes) -> None:
    record = b'{"version":2,"id":1,"mbox":{"a@x.mbox":5},"maildir":[]}'
    data = record.ljust(4096) + completion
    decoded = JournalEntries.decode(data)
    assert decoded is not None
    assert decoded.mbox_sizes == {"a@x.mbox": 5}
    assert decoded.mbox_ends is None
    whole = JournalEntries.decode(record.ljust(4096) + b'{"id":1,"ends":{"a@x.mbox":50}}')
    assert whole is not None and whole.mbox_ends == {"a@x.mbox": 50}


def test_incomplete_journal_is_dropped_without_touching_mailboxes(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    with (store_dir / "a@x.mbox").open("ab") as mailbox:
        mailbox.write(b"From someone else\n")
    grown = (store_dir / "a@x.mbox").read_bytes()
    (store_dir / JOURNAL_DIR / "1-dead.journal").write_bytes(b'{"version":1,"mbox":{"a@x.mb')
    assert recover(store_dir) == 1
    assert journals(store_dir) == []
    assert (store_dir / "a@x.mbox").read_bytes() == grown


@pytest.mark.parametrize(
    "document",
    [
        b'{"version":1,"mbox":{"../outside.mbox":0},"maildir":[]}',
        b'{"version":1,"mbox":{"/tmp/outside.mbox":0},"maildir":[]}',
        b'{"version":1,"mbox":{},"maildir":["../outside/x"]}',
        b'{"version":1,"mbox":{},"maildir":["a@x/../../outside"]}',
    ],
)
def test_journal_cannot_reach_outside_the_store(
    store_dir: Path, mbox_before: dict[str, bytes], document: bytes
) -> None:
    outside = store_dir.parent / "outside.mbox"
    outside.write_bytes(b"not ours")
    (store_dir.parent / "outside").mkdir()
    (store_dir.parent / "outside" / "x").write_bytes(b"not ours")
    (store_dir / JOURNAL_DIR / "1-evil.journal").write_bytes(document)
    recover(store_dir)
    assert outside.read_bytes() == b"not ours"
    assert (store_dir.parent / "outside" / "x").read_bytes() == b"not ours"


def test_mailbox_shorter_than_recorded_is_not_extended(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    (store_dir / "a@x.mbox").write_bytes(b"")  # emptied by a reader meanwhile
    size = len(mbox_before["a@x.mbox"])
    document = f'{{"version":1,"mbox":{{"a@x.mbox":{size}}},"maildir":[]}}'
    (store_dir / JOURNAL_DIR / "1-dead.journal").write_text(document)
    assert recover(store_dir) == 1
    assert (store_dir / "a@x.mbox").read_bytes() == b""


def test_only_stale_temporary_files_are_cleared(store_dir: Path) -> None:
    with MaildirStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x",)), message)
    tmp, new = store_dir / "a@x" / "tmp", store_dir / "a@x" / "new"
    old = time.time() - 37 * 3600
    for path in (tmp / "stale", tmp / "recent", new / "old-message"):
        path.write_bytes(b"x")
    os.utime(tmp / "stale", (old, old))
    os.utime(new / "old-message", (old, old))
    recover(store_dir)
    assert sorted(path.name for path in tmp.iterdir()) == ["recent"]
    assert (new / "old-message").exists()


# -- the journal file of a running store ---------------------------------------------


def test_a_store_keeps_one_journal_cleared_between_batches(store_dir: Path) -> None:
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        names = set()
        for number in range(3):
            store.deliver(envelope(recipients=("a@x",), queue_id=f"n{number}"), message)
            [journal] = journals(store_dir)
            names.add(journal.name)
            data = journal.read_bytes()
            assert data[:1] == CLEARED
            assert not holds_transaction(data)
            assert JournalEntries.decode(data) is None
        assert len(names) == 1
    assert journals(store_dir) == []  # removed when the store closes


def test_cleared_journal_of_a_dead_process_is_removed_without_touching_mailboxes(
    store_dir: Path, mbox_before: dict[str, bytes]
) -> None:
    killed(
        """
        store = MboxStore(store_dir)
        with spool(MESSAGE) as message:
            store.deliver(envelope(recipients=("a@x",), queue_id="last"), message)
        die()  # between two batches: the record is cleared, the file stays
        """,
        store_dir,
    )
    assert len(journals(store_dir)) == 1
    data = (store_dir / "a@x.mbox").read_bytes()
    assert data.startswith(mbox_before["a@x.mbox"]) and b" id last\n" in data
    assert recover(store_dir) == 1
    assert journals(store_dir) == []
    assert (store_dir / "a@x.mbox").read_bytes() == data


def test_two_live_stores_on_one_directory_keep_their_own_journals(store_dir: Path) -> None:
    with MboxStore(store_dir) as one, MboxStore(store_dir) as two, spool(MESSAGE) as message:
        one.deliver(envelope(recipients=("a@x",), queue_id="one"), message)
        two.deliver(envelope(recipients=("a@x",), queue_id="two"), message)
        one.deliver(envelope(recipients=("a@x",), queue_id="three"), message)
        assert len(journals(store_dir)) == 2
        assert recover(store_dir) == 0  # both owners live
    assert journals(store_dir) == []
    copies = mbox_messages(store_dir / "a@x.mbox")
    assert [copy.split(b" id ")[1].split(b"\n")[0] for copy in copies] == [
        b"one",
        b"two",
        b"three",
    ]


def test_a_shorter_record_is_padded_over_a_longer_one(store_dir: Path) -> None:
    long = JournalEntries(mbox_sizes={"a@x.mbox": 123456789, "b@x.mbox": 1})
    short = JournalEntries(mbox_sizes={"a@x.mbox": 7})
    journal = Journal(store_dir, fsync=True)
    try:
        journal.begin(long).commit()
        transaction = journal.begin(short)
        [path] = journals(store_dir)
        data = path.read_bytes()
        assert len(data) == 4096  # whole blocks, the longer record's spaced out
        assert b"123456789" not in data
        decoded = JournalEntries.decode(data)
        assert decoded is not None and decoded.mbox_sizes == short.mbox_sizes
        transaction.commit()
        # One byte clears it; what is left of the record is no transaction.
        assert path.read_bytes() == CLEARED + data[1:]
        assert JournalEntries.decode(path.read_bytes()) is None
    finally:
        journal.close()
    assert journals(store_dir) == []


def test_a_record_left_pending_is_never_overwritten(store_dir: Path) -> None:
    stale_entries = JournalEntries(mbox_sizes={"a@x.mbox": 1})
    fresh_entries = JournalEntries(mbox_sizes={"b@x.mbox": 2})
    journal = Journal(store_dir, fsync=True)
    try:
        stale = journal.begin(stale_entries)  # cut short: neither committed nor let go
        fresh = journal.begin(fresh_entries)
        assert fresh.name != stale.name
        records = {
            path.name: JournalEntries.decode(path.read_bytes()) for path in journals(store_dir)
        }
        assert {name: entries and entries.mbox_sizes for name, entries in records.items()} == {
            stale.name: stale_entries.mbox_sizes,
            fresh.name: fresh_entries.mbox_sizes,
        }
        with pytest.raises(OSError):
            stale.commit()  # its file was let go: recovery's now
        fresh.commit()
    finally:
        journal.close()
    assert [path.name for path in journals(store_dir)] == [stale.name]
    assert recover(store_dir) == 1
    assert journals(store_dir) == []
