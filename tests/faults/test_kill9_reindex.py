"""kill -9 during `postier reindex` (mbox and Maildir): the mailboxes are never touched,
and the index is the old one or the new one, whole, never half of one (the reindex is one
transaction); a new reader then lists every message under the IDs it had before."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pty
import random
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from postier.store import Spool
from postier.store.copies import render_copy
from postier.store.index.database import INDEX_DIR, index_path
from postier.store.maildir import unique_name
from postier.store.naming import StoreFormat, mailbox_path
from postier.store.read import MailboxSummary, Reader
from tests.store_read.helpers import WHEN, envelope

MAILBOXES = 3
PER_MAILBOX = 2000
"""6000 messages: a reindex spends most of its time in its transaction, not starting."""
ROUNDS = 6
REINDEX = [sys.executable, "-m", "postier", "reindex", "--store"]
_PROGRESS = re.compile(r"indexing: [\d,]+ messages, mailbox (\d+) of (\d+)")


def build(store: Path, fmt: StoreFormat) -> None:
    """PER_MAILBOX messages in each mailbox, in the bytes the store's own `render_copy`
    gives (its trace headers, `From ` lines and quoting), written straight to the files:
    a delivery's locks, journal and flushes would take far longer and change nothing here."""
    store.mkdir()
    for box in range(MAILBOXES):
        address = f"box{box}@example.org"
        path = mailbox_path(store, address, fmt)
        copies = [filed_copy(address, number, fmt) for number in range(PER_MAILBOX)]
        if fmt == "mbox":
            path.write_bytes(b"".join(copies))
            continue
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True)
        for number, data in enumerate(copies):
            name = unique_name("test.host", WHEN + timedelta(seconds=number))
            (path / "new" / name).write_bytes(data)


def filed_copy(address: str, number: int, fmt: StoreFormat) -> bytes:
    """Message `number` as the store files it for `address`, received `number` s after WHEN."""
    head = (
        f"From: Sender <sender@example.com>\r\nTo: {address}\r\nSubject: number {number}\r\n"
        f"Message-ID: <{number}@test>\r\nDate: Fri, 27 Nov 2026 03:23:09 +0100\r\n\r\n"
    )
    message = head + f"Line {number} of a message.\r\n" * 12
    spool = Spool()
    try:
        spool.write(message.encode())
        when = WHEN + timedelta(seconds=number)
        return b"".join(render_copy(envelope([address], when=when), address, spool, fmt))
    finally:
        spool.close()


def digests(store: Path) -> dict[str, str]:
    """The sha256 of every file of the store but the index's directory, by relative path."""
    found: dict[str, str] = {}
    for directory, subdirs, files in os.walk(store):
        subdirs[:] = [name for name in subdirs if Path(directory, name) != store / INDEX_DIR]
        for name in files:
            path = Path(directory, name)
            found[str(path.relative_to(store))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def reindex(store: Path, kill_after: float | None = None) -> tuple[int, float, str]:
    """`postier reindex` in a process of its own, killed with SIGKILL after `kill_after`
    seconds unless it is over by then: its exit status, how long it ran, and the last
    progress it showed (its standard error is a terminal, so it tells how far it got)."""
    master, slave = pty.openpty()
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [*REINDEX, str(store)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
        )  # fmt: skip
    finally:
        os.close(slave)
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(60 if kill_after is None else kill_after)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        ran = time.monotonic() - started
        shown = _drain(master)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        os.close(master)
    found = _PROGRESS.findall(shown)
    return process.returncode, ran, found[-1] if found else ""


def _drain(fd: int) -> str:
    """What a terminal's other side still holds, once the process on it has ended."""
    data = b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: nothing more, its side is closed
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def index_rows(store: Path) -> tuple[list[str], list[str]]:
    """The IDs and the mailbox entries the index file holds, read as they are (no reader
    brings them up to date first), sorted."""
    with contextlib.closing(sqlite3.connect(index_path(store))) as conn:
        conn.execute("PRAGMA query_only = ON")
        ids = [row[0] for row in conn.execute("SELECT id FROM messages WHERE hidden = 0")]
        entries = [row[0] for row in conn.execute("SELECT entry FROM mailboxes")]
    return sorted(ids), sorted(entries)


def listed(store: Path) -> tuple[list[str], list[MailboxSummary]]:
    """Every copy's ID a new reader lists in the mailboxes (one per message, so not sorted
    into a set), and its mailboxes. All mail lists deliveries, under their own IDs."""
    with Reader(store) as reader:
        page = reader.messages(limit=None)
        assert page.total == len(page.messages)
        boxes = reader.mailboxes()
        ids = []
        for box in boxes:
            copies = reader.messages(box.address, limit=None)
            assert copies.total == len(copies.messages) == box.count
            ids += [message.id for message in copies.messages]
        return sorted(ids), boxes


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_kill_9_during_reindex(tmp_path: Path, fmt: StoreFormat) -> None:
    store = tmp_path / "mail"
    build(store, fmt)
    files = digests(store)
    status, full, _ = reindex(store)  # the first index, and how long a whole reindex takes
    assert status == 0
    ids, mailboxes = listed(store)
    assert len(ids) == len(set(ids)) == MAILBOXES * PER_MAILBOX
    rows = index_rows(store)
    assert rows == (ids, sorted(p.name for p in store.iterdir() if p.name != INDEX_DIR.name))
    chance = random.Random(20261202)
    # One kill in each sixth of a whole reindex's time, at a random moment of it.
    moments = [(part + chance.random()) / ROUNDS * full for part in range(ROUNDS)]
    chance.shuffle(moments)
    midway = 0
    for round_, delay in enumerate(moments):
        status, _, progress = reindex(store, kill_after=delay)
        if status == -signal.SIGKILL and progress and int(progress[0]) < int(progress[1]):
            midway += 1  # killed with mailboxes still to read: inside the transaction
        where = f"round {round_}, killed after {delay:.2f} s of {full:.2f} s at {progress}"
        assert digests(store) == files, where
        assert index_rows(store) == rows, where  # the old index or the new one, whole
        assert listed(store) == (ids, mailboxes), where
    assert midway >= 1, f"none of the {ROUNDS} reindexes was killed half-way: a test of nothing"
    assert reindex(store)[0] == 0  # and a reindex after all that completes
    assert listed(store) == (ids, mailboxes)
    print(f"\nreindex kill -9 ({fmt}): {midway} of {ROUNDS} killed half-way; whole: {full:.2f} s")
