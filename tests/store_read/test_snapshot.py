"""The reader takes the server's locks and never shows half a message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from postier.store import MboxStore, Spool
from postier.store.journal import JOURNAL_DIR
from postier.store.journal_record import JournalEntries
from postier.store.read import Reader
from postier.store.read.snapshot import lock_key, open_mbox
from tests.store_read.helpers import envelope, mbox_bytes

FIRST = b"Subject: first\n\nbody\n"
SECOND = b"Subject: second\n\nbody\n"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def hold_lock(
    path: Path, seconds: float, before: bytes = b"", after: bytes = b""
) -> subprocess.Popen[str]:
    """Another process takes the store's lock on `path`, appends `before`, says so on its
    standard output, waits `seconds`, appends `after` and lets go."""
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from postier.store.locking import locked
        with locked(Path({str(path)!r}), timeout=5) as fd:
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, {before!r})
            print("locked", flush=True)
            time.sleep({seconds})
            os.write(fd, {after!r})
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert child.stdout is not None and child.stdout.readline() == "locked\n"
    return child


def finish(child: subprocess.Popen[str], *, kill: bool = False) -> None:
    if kill:
        child.kill()
    child.wait(10)
    assert child.stdout is not None
    child.stdout.close()


def subjects(store: Path, address: str = "alice@example.org", timeout: float = 10) -> list[str]:
    """The subjects of `address`'s messages, oldest first, as a new reader finds them."""
    with Reader(store, lock_timeout=timeout, fsync=False) as reader:
        return [row.subject for row in reversed(reader.messages(address).messages)]


def test_a_reader_waits_for_the_writer_and_sees_whole_messages(store: Path) -> None:
    store.mkdir()
    path = store / "alice@example.org.mbox"
    path.write_bytes(mbox_bytes([FIRST]))
    whole = mbox_bytes([FIRST, SECOND])[len(mbox_bytes([FIRST])) :]
    child = hold_lock(path, 0.4, before=whole[:20], after=whole[20:])
    started = time.monotonic()
    try:
        assert subjects(store) == ["first", "second"]
        assert time.monotonic() - started > 0.2  # it waited for the lock
    finally:
        finish(child)


def test_a_mailbox_locked_too_long_is_reported_and_shown_as_last_read(store: Path) -> None:
    store.mkdir()
    path = store / "alice@example.org.mbox"
    path.write_bytes(mbox_bytes([FIRST]))
    with Reader(store, lock_timeout=0.2, fsync=False) as reader:
        reader.sync()
        child = hold_lock(path, 2, before=mbox_bytes([SECOND]))
        try:
            reader.sync()
            [error] = reader.errors
            assert re.match(r"alice@example\.org\.mbox: .*locked", error)
            assert [row.subject for row in reader.messages("alice@example.org").messages] == [
                "first"
            ]
        finally:
            finish(child, kill=True)
        reader.sync()
        assert reader.errors == []
        assert len(reader.messages("alice@example.org").messages) == 2


def test_what_a_dead_delivery_left_is_not_shown(store: Path) -> None:
    """A server killed mid-append leaves half a message and its journal; until recovery
    cuts it off, the journal's size hides it."""
    store.mkdir()
    complete = mbox_bytes([FIRST])
    (store / "alice@example.org.mbox").write_bytes(
        complete + b"From x Thu Nov 27 02:23:09 2026\nSubj"
    )
    journal = store / JOURNAL_DIR
    journal.mkdir(parents=True)
    entries = JournalEntries(mbox_sizes={"alice@example.org.mbox": len(complete)})
    (journal / "123-dead.journal").write_bytes(entries.encode())
    assert subjects(store) == ["first"]
    with Reader(store, fsync=False) as reader:
        [row] = reader.mailboxes()
        assert (row.count, row.size) == (1, len(FIRST))


def test_what_a_dead_delivery_finished_is_shown(store: Path) -> None:
    """A server killed after its batch was whole, before it cleared its journal, may have
    answered 250: recovery keeps the batch, and the reader shows it already."""
    store.mkdir()
    first = mbox_bytes([FIRST])
    both = mbox_bytes([FIRST, SECOND])
    (store / "alice@example.org.mbox").write_bytes(both)
    journal = store / JOURNAL_DIR
    journal.mkdir(parents=True)
    entries = JournalEntries(mbox_sizes={"alice@example.org.mbox": len(first)}, record_id=4)
    completion = entries.encode_completion({"alice@example.org.mbox": len(both)})
    (journal / "123-dead.journal").write_bytes(entries.encode().ljust(4096) + completion)
    assert subjects(store) == ["first", "second"]
    (store / "alice@example.org.mbox").write_bytes(both[:-3])  # not all of it made it
    assert subjects(store) == ["first"]


def test_the_lock_key_is_the_stores_own(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    box = MboxStore(tmp_path / "link", fsync=False)
    try:
        box.deliver(envelope(["alice@example.org"]), _spool(FIRST))
        [opened] = box._files.values()  # the store's own open mailbox and its lock path
        assert lock_key(tmp_path / "link" / "alice@example.org.mbox") == opened.lock.path
    finally:
        box.close()


def _spool(data: bytes) -> Spool:
    spool = Spool()
    spool.write(data)
    return spool


def test_reading_while_threads_of_this_process_deliver(store: Path) -> None:
    """The store's threads and a reader in one process: POSIX locks do not keep them
    apart, the store's thread lock does; no read may see half a message."""
    box = MboxStore(store, fsync=False)
    total = 60
    body = b"Subject: m\n\n" + b"x" * 5000 + b"\nFrom the middle\n"

    def write() -> None:
        for _ in range(total):
            box.deliver(envelope(["alice@example.org"]), _spool(body))

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    seen = 0
    reader = Reader(store, fsync=False)
    try:
        deadline = time.monotonic() + 60
        while any(thread.is_alive() for thread in writers) or seen < 2 * total:
            assert time.monotonic() < deadline
            reader.sync()
            rows = reader.messages("alice@example.org", limit=None).messages
            raws = [reader.read_bytes(row.id) for row in rows]
            assert len(raws) >= seen
            assert all(raw.endswith(b"\nFrom the middle\n") for raw in raws)
            assert all(row.size == len(raw) for row, raw in zip(rows, raws, strict=True))
            seen = len(raws)
    finally:
        for thread in writers:
            thread.join()
        box.close()
        reader.close()
    assert seen == 2 * total


def test_a_snapshot_ignores_what_is_appended_after_it(store: Path) -> None:
    store.mkdir()
    path = store / "alice@example.org.mbox"
    path.write_bytes(mbox_bytes([FIRST]))
    with open_mbox(path) as snapshot:
        with open(path, "ab") as file:
            file.write(mbox_bytes([SECOND]))
        assert snapshot.size == len(mbox_bytes([FIRST]))
