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
from postier.store.journal import JOURNAL_DIR
from tests.store.helpers import MESSAGE, envelope, maildir_messages, mbox_messages, spool

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import os, signal, sys
from pathlib import Path
from postier.store import MboxStore, MaildirStore, fileio, recovery
from postier.store.journal import Journal, JournalEntries
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


def test_maildir_crash_after_rename_is_rolled_back(store_dir: Path) -> None:
    with MaildirStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x", "b@x"), queue_id="first"), message)
    killed(
        """
        fileio.fsync_dir = lambda path: die() if str(path).endswith("/new") else None
        with spool(MESSAGE) as message:
            MaildirStore(store_dir).deliver(envelope(recipients=("a@x", "b@x")), message)
        """,
        store_dir,
    )
    assert len(list((store_dir / "a@x" / "new").iterdir())) == 2
    open_store(store_dir, "maildir").close()
    for name in ("a@x", "b@x"):
        [copy] = maildir_messages(store_dir / name)
        assert b" id first\n" in copy
        assert list((store_dir / name / "tmp").iterdir()) == []


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
