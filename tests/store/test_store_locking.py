"""Locking: deliveries wait for other processes' and threads' locks, and never interleave."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from postier.store import DeliveryError, LockTimeoutError, MboxStore
from postier.store.locking import locked
from tests.store.helpers import MESSAGE, envelope, mbox_messages, spool

HOLD_WITH_PYTHON_MAILBOX = """
    import mailbox, sys
    box = mailbox.mbox(sys.argv[1])
    box.lock()  # lockf and a dot-lock, as mutt does
    print("locked", flush=True)
    sys.stdin.readline()
    message = mailbox.mboxMessage(b"Subject: written under the lock\\n\\nFrom the holder\\n")
    message.set_from("holder@x")
    box.add(message)
    box.flush()
    box.unlock()
    box.close()
"""

HOLD_WITH_FLOCK = """
    import fcntl, sys
    with open(sys.argv[1], "ab") as mailbox:
        fcntl.flock(mailbox, fcntl.LOCK_EX)
        print("locked", flush=True)
        sys.stdin.readline()
        mailbox.write(b"From holder@x Fri Nov 27 02:23:09 2026\\n")
        mailbox.write(b"Subject: under flock\\n\\nbody\\n\\n")
"""


def hold(script: str, path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "locked\n"
    return child


@pytest.mark.parametrize(
    "script", [HOLD_WITH_PYTHON_MAILBOX, HOLD_WITH_FLOCK], ids=["python-mailbox", "flock"]
)
def test_delivery_waits_for_another_process(store_dir: Path, script: str) -> None:
    path = store_dir / "a@x.mbox"
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x",), queue_id="first"), message)
        child = hold(script, path)
        done = threading.Event()

        def deliver() -> None:
            store.deliver(envelope(recipients=("a@x",), queue_id="waited"), message)
            done.set()

        worker = threading.Thread(target=deliver)
        try:
            worker.start()
            assert not done.wait(0.5), "delivered while another process held the lock"
        finally:
            child.communicate("go\n", timeout=30)
        worker.join(timeout=30)
        assert done.is_set()
    assert child.returncode == 0
    copies = mbox_messages(path)
    assert len(copies) == 3
    assert b" id first\n" in copies[0]
    assert b"under" in copies[1]
    assert b" id waited\n" in copies[2] and copies[2].endswith(b"Hello.\n")


def test_lock_timeout_fails_the_delivery(store_dir: Path) -> None:
    path = store_dir / "a@x.mbox"
    with MboxStore(store_dir, lock_timeout=0.2) as store, spool(MESSAGE) as message:
        store.deliver(envelope(recipients=("a@x",), queue_id="first"), message)
        before = path.read_bytes()
        child = hold(HOLD_WITH_FLOCK.replace("mailbox.write", "pass  #"), path)
        try:
            started = time.monotonic()
            with pytest.raises(DeliveryError):
                store.deliver(envelope(recipients=("a@x", "b@x")), message)
            assert 0.2 <= time.monotonic() - started < 5
        finally:
            child.communicate("go\n", timeout=30)
        assert path.read_bytes() == before
        assert not (store_dir / "b@x.mbox").exists() or mbox_messages(store_dir / "b@x.mbox") == []


def test_locked_excludes_threads_of_one_process(tmp_path: Path) -> None:
    path = tmp_path / "box"
    path.write_bytes(b"")
    inside = 0
    overlaps: list[int] = []

    def work() -> None:
        nonlocal inside
        for _ in range(50):
            with locked(path, timeout=10):
                inside += 1
                overlaps.append(inside)
                time.sleep(0.0005)
                inside -= 1

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert max(overlaps) == 1


def test_locked_takes_both_fcntl_locks(tmp_path: Path) -> None:
    path = tmp_path / "box"
    path.write_bytes(b"")
    probe = (
        "import fcntl, sys\n"
        "f = open(sys.argv[1], 'r+b')\n"
        "for lock in (fcntl.lockf, fcntl.flock):\n"
        "    try:\n"
        "        lock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "        print('free')\n"
        "    except OSError:\n"
        "        print('busy')\n"
    )

    def other_process_sees() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
        )
        return result.stdout.split()

    with locked(path, timeout=1):
        assert other_process_sees() == ["busy", "busy"]
    assert other_process_sees() == ["free", "free"]


def test_locked_times_out_and_leaves_nothing_held(tmp_path: Path) -> None:
    path = tmp_path / "box"
    path.write_bytes(b"")
    child = hold(HOLD_WITH_FLOCK.replace("mailbox.write", "pass  #"), path)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeoutError), locked(path, timeout=0.1):
            pass
        assert time.monotonic() - started < 2
    finally:
        child.communicate("go\n", timeout=30)
    with locked(path, timeout=1):
        pass


def test_locked_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), locked(tmp_path / "absent", timeout=1):
        pass
