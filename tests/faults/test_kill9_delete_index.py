"""kill -9 of a reader deleting from a large mbox (logging, compacting, moving the index's
rows to the new file) while another process delivers: the files lose nothing else and
hold no torn or doubled message, and the index, once a reader looks, is what a reindex
from the files would make."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from postier.store import recover
from postier.store.read import Reader
from tests.faults.numbered import check_stored
from tests.faults.test_kill9_compact import DELIVERER, ENVELOPE, child, foreign, foreign_ids
from tests.store.helpers import mbox_messages

ENTRY = "a@x.mbox"
FOREIGN = 2000
BATCH = 7
ROUNDS = 8

DELETER = """
import sys
from pathlib import Path
from postier.store.read import NoSuchMessage, Reader
store, first, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ids = sys.stdin.read().split()
with Reader(store, lock_timeout=30) as reader:
    for number in range(first, len(ids) // batch):
        try:
            reader.delete(ids[number * batch : (number + 1) * batch], wait=True)
        except NoSuchMessage:
            pass  # logged by the run killed before it said so
        print(number, flush=True)
"""


def index_rows(reader: Reader) -> list[tuple[object, ...]]:
    with reader.db.reading() as conn:
        return conn.execute(
            "SELECT id, position, length, size, seen, hidden FROM messages ORDER BY position"
        ).fetchall()


def check(store_dir: Path, ids: list[str], acknowledged: set[str], batches: int) -> None:
    """The index a look leaves equals a reindex; each message whole and there once; each
    batch of deletions gone whole (from the file, or hidden until its compaction) or not."""
    with Reader(store_dir, lock_timeout=30) as reader:
        reader.sync()
        rows = index_rows(reader)
    with Reader(store_dir, memory=True, lock_timeout=30) as fresh:
        fresh.reindex()
        assert rows == index_rows(fresh)
    hidden = {str(row[0]) for row in rows if row[5]}
    tokens: Counter[str] = Counter()
    present: set[int] = set()
    for message in mbox_messages(store_dir / ENTRY):
        if message.startswith(b"Subject: f"):
            number = int(message[10:15])
            assert message == foreign(number)[len(ENVELOPE) : -1], number
            present.add(number)
        else:
            tokens[check_stored(message, "a@x")] += 1  # whole, or an AssertionError
    assert [token for token, n in tokens.items() if n > 1] == []
    assert acknowledged <= tokens.keys()
    shown = {n for n in present if ids[n] not in hidden}
    for number in range(len(ids) // BATCH):
        members = set(range(number * BATCH, (number + 1) * BATCH))
        assert members <= shown or not members & shown, f"batch {number} half applied"
        if number < batches:
            assert not members & shown, f"batch {number} acknowledged but shown"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_kill_9_while_deleting_and_moving_the_index(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    path = store_dir / ENTRY
    path.write_bytes(b"".join(foreign(n) for n in range(FOREIGN)))
    ids = foreign_ids(path)
    with Reader(store_dir) as reader:
        reader.sync()  # the kills land in deletions, not in the first reading
    chance = random.Random(20261202)
    acknowledged: set[str] = set()
    first_batch = 0
    for round_ in range(ROUNDS):
        with (
            child(DELIVERER, str(store_dir), f"r{round_:02d}") as deliverer,
            child(DELETER, str(store_dir), str(first_batch), str(BATCH)) as deleter,
        ):
            assert deleter.stdin is not None
            deleter.stdin.write(" ".join(ids))
            deleter.stdin.close()
            time.sleep(chance.uniform(1.5, 3.5))  # where the kill lands, not what is checked
            os.kill(deleter.pid, signal.SIGKILL)
            os.kill(deliverer.pid, signal.SIGKILL)
            assert deleter.stdout is not None and deliverer.stdout is not None
            out, delivered = deleter.stdout.read(), deliverer.stdout.read()
            deleter.wait(30)
            deliverer.wait(30)
        recorded = [int(line) for line in out.split()]
        first_batch = max([first_batch - 1, *recorded]) + 1
        # A kill can cut the last line short ("ok r06-08"): only whole lines are heard.
        for line in delivered.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            state, _, token = line.strip().partition(" ")
            if state == "ok":
                acknowledged.add(token)
        recover(store_dir)  # what a server does when it starts
        check(store_dir, ids, acknowledged, first_batch)
    assert first_batch >= ROUNDS // 2, "the deletions never got going"
    print(f"\ndelete kill -9: {ROUNDS} rounds, {first_batch} batches deleted")
