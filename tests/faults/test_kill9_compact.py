"""kill -9 during compactions while another process delivers: nothing lost, nothing doubled,
each compaction's deletions all applied or none, no torn message, no temporary file kept."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from postier.store import recover
from postier.store.identity import IdAssigner
from postier.store.read.mbox_compact import compact, temp_path
from postier.store.read.scan import iter_mbox
from tests.faults.numbered import check_stored
from tests.store.helpers import mbox_messages

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "a@x.mbox"
FOREIGN = 6000
"""Messages of about 1 KiB another tool filed: a 6 MB mbox, long enough to copy that a kill
lands in every phase of a compaction."""
BATCH = 12
"""Foreign messages each compaction deletes; it also marks one more read."""
ROUNDS = 16
ENVELOPE = b"From s@y Thu Nov 27 02:23:09 2026\n"

COMPACTOR = """
import sys
from pathlib import Path
from postier.store.read.mbox_changes import record_changes
from postier.store.read.mbox_compact import compact
store, first = Path(sys.argv[1]), int(sys.argv[2])
ids = sys.stdin.read().split()
batch = int(sys.argv[3])
for number in range(first, len(ids) // (batch + 1)):
    chosen = ids[number * (batch + 1) : (number + 1) * (batch + 1)]
    record_changes(store, "a@x.mbox", delete=chosen[:-1], seen={chosen[-1]: True})
    print(number, flush=True)
    compact(store, "a@x.mbox", lock_timeout=30)
"""

DELIVERER = """
import sys
from pathlib import Path
from postier.store import MboxStore
from tests.faults.numbered import numbered_message
from tests.store.helpers import envelope, spool
store, name = Path(sys.argv[1]), sys.argv[2]
with MboxStore(store, lock_timeout=30) as mboxes:
    for n in range(5000):
        token = f"{name}-{n:04d}"
        print("begin", token, flush=True)
        with spool(numbered_message(token, 700 + n % 5 * 900)) as message:
            mboxes.deliver(envelope(recipients=("a@x",), queue_id=token), message)
        print("ok", token, flush=True)
"""


def foreign(number: int) -> bytes:
    body = b"".join(b"%04d line of a message filed by another tool\n" % n for n in range(20))
    return ENVELOPE + b"Subject: f%05d\nMessage-ID: <%d@y>\n\n" % (number, number) + body + b"\n"


def child(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def foreign_ids(path: Path) -> list[str]:
    assigner = IdAssigner(path.name.removesuffix(".mbox"))
    fd = os.open(path, os.O_RDONLY)
    try:
        return [assigner.assign(m.raw) for m in iter_mbox(fd, 0, os.fstat(fd).st_size)]
    finally:
        os.close(fd)


def check(path: Path, acknowledged: set[str], begun: set[str], batches: int) -> None:
    """The mbox parses, each delivery acknowledged is there once, each batch of deletions
    whole or absent, and every message intact."""
    stored = mbox_messages(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert len(list(iter_mbox(fd, 0, os.fstat(fd).st_size))) == len(stored)
    finally:
        os.close(fd)
    tokens: Counter[str] = Counter()
    present: set[int] = set()
    read: set[int] = set()
    for message in stored:
        if message.startswith(b"Subject: f"):
            number = int(message[10:15])
            filed = foreign(number)[len(ENVELOPE) : -1]  # as `mailbox` reads it
            assert message in (filed, filed.replace(b"\n\n", b"\nStatus: RO\n\n", 1)), number
            present.add(number)
            if message != filed:
                read.add(number)
        else:
            tokens[check_stored(message, "a@x")] += 1  # whole, or an AssertionError
    assert [token for token, n in tokens.items() if n > 1] == []
    assert acknowledged <= tokens.keys() <= begun
    for number in range(batches):
        members = set(range(number * (BATCH + 1), (number + 1) * (BATCH + 1) - 1))
        assert members <= present or not members & present, f"batch {number} half applied"
        if not members & present:  # applied: so was the read state recorded with it
            assert (number + 1) * (BATCH + 1) - 1 in read


@pytest.mark.slow
def test_kill_9_during_compactions(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    path = store_dir / ENTRY
    path.write_bytes(b"".join(foreign(n) for n in range(FOREIGN)))
    ids = " ".join(foreign_ids(path))
    chance = random.Random(20261127)
    acknowledged: set[str] = set()
    begun: set[str] = set()
    first_batch = 0
    temp_left = killed_mid_delivery = 0
    for round_ in range(ROUNDS):
        with (
            child(DELIVERER, str(store_dir), f"r{round_:02d}") as deliverer,
            child(COMPACTOR, str(store_dir), str(first_batch), str(BATCH)) as compactor,
        ):
            assert compactor.stdin is not None
            compactor.stdin.write(ids)
            compactor.stdin.close()
            time.sleep(chance.uniform(0.3, 1.5))  # where the kill lands, not what is checked
            os.kill(compactor.pid, signal.SIGKILL)
            if chance.random() < 0.5:
                os.kill(deliverer.pid, signal.SIGKILL)
                killed_mid_delivery += 1
            else:
                deliverer.terminate()
            assert compactor.stdout is not None and deliverer.stdout is not None
            out, delivered = compactor.stdout.read(), deliverer.stdout.read()
            compactor.wait(30)
            deliverer.wait(30)
        recorded = [int(line) for line in out.split()]
        first_batch = max([first_batch - 1, *recorded]) + 1
        # A kill can cut the last line short ("ok r06-08"): only whole lines are heard.
        for line in delivered.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            state, _, token = line.strip().partition(" ")
            (acknowledged if state == "ok" else begun).add(token)
        begun |= acknowledged
        temp_left += temp_path(store_dir, ENTRY).exists()
        recover(store_dir)  # what a server does when it starts
        check(path, acknowledged, begun, first_batch)
    assert first_batch > ROUNDS, "the compactions never got going"
    compact(store_dir, ENTRY)  # removes a temporary file left by the last kill
    assert not temp_path(store_dir, ENTRY).exists()
    check(path, acknowledged, begun, first_batch)
    print(
        f"\ncompaction kill -9: {ROUNDS} rounds, {first_batch} batches recorded,"
        f" {len(acknowledged)} deliveries acknowledged, {killed_mid_delivery} deliverers"
        f" killed too, a temporary file left by {temp_left} kills"
    )
