"""The indexing process's loop (`index_child.serve`) over a real store, its requests and
answers in memory: one mailbox or all of them, a damaged mailbox and a broken index
answered without ending the loop, and the end of the requests ending it.

What the index holds is read straight from its SQLite file, read-only, so that looking
cannot bring it up to date.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from postier.server.index_child import serve
from postier.store.index.database import index_path
from postier.store.read import Reader
from tests.store_read.helpers import deliver, plain

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
FORMATS = pytest.mark.parametrize("fmt", ["mbox", "maildir"])
WAIT = 10.0


def entry(address: str, fmt: str) -> str:
    """The mailbox's name in the store, spelled out (not asked of the code under test)."""
    return f"{address}.mbox" if fmt == "mbox" else address


def request(*entries: str, everything: bool = False) -> bytes:
    only = None if everything else list(entries)
    return json.dumps({"only": only}).encode() + b"\n"


def answers_of(output: io.BytesIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


def indexed(store: Path) -> dict[str, set[str]]:
    """Mailbox -> the IDs the index file holds of it, read-only ({} while there is none)."""
    path = index_path(store)
    if not path.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT mailbox, id FROM messages WHERE hidden = 0").fetchall()
    found: dict[str, set[str]] = {}
    for mailbox, id_ in rows:
        found.setdefault(str(mailbox), set()).add(str(id_))
    return found


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The store's directory, made (a reader of a store it cannot write to keeps its
    index in memory)."""
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def reader(store: Path) -> Iterator[Reader]:
    with Reader(store, fsync=False) as opened:
        yield opened


def filled(store: Path, fmt: str) -> None:
    """Two messages for Alice, one for Bob, filed by the store's own `deliver`."""
    alice = [plain("a1", message_id="<a1@test>"), plain("a2", message_id="<a2@test>")]
    deliver(store, fmt, alice)  # type: ignore[arg-type]
    deliver(store, fmt, [plain("b1", message_id="<b1@test>", to=BOB)], [BOB])  # type: ignore[arg-type]


class Staged(io.BytesIO):
    """Request lines, each handed over once its step (if any) has run: the store changes
    between two requests as it would while the process waits for the next one."""

    def __init__(self, *lines: tuple[bytes, Callable[[], None] | None]) -> None:
        super().__init__(b"".join(line for line, _ in lines))
        self._steps = [step for _, step in lines]

    def __next__(self) -> bytes:
        if self._steps and (step := self._steps.pop(0)) is not None:
            step()
        return super().__next__()


# -- the tests -----------------------------------------------------------------------


@FORMATS
def test_a_request_for_one_mailbox_answers_its_new_messages(
    store: Path, reader: Reader, fmt: str
) -> None:
    filled(store, fmt)
    output = io.BytesIO()
    serve(reader, io.BytesIO(request(entry(ALICE, fmt))), output)
    [answer] = answers_of(output)
    [(kind, mailbox, ids)] = answer["changes"]
    assert (kind, mailbox) == ("new", ALICE)
    assert len(ids) == 2
    assert indexed(store) == {ALICE: set(ids)}  # Bob's mailbox was not asked for


@FORMATS
def test_null_syncs_every_mailbox(store: Path, reader: Reader, fmt: str) -> None:
    filled(store, fmt)
    output = io.BytesIO()
    serve(reader, io.BytesIO(request(everything=True) + request(everything=True)), output)
    first, second = answers_of(output)
    heard = {mailbox: set(ids) for kind, mailbox, ids in first["changes"] if kind == "new"}
    assert heard == indexed(store)
    assert {mailbox: len(ids) for mailbox, ids in heard.items()} == {ALICE: 2, BOB: 1}
    assert second == {"changes": []}  # nothing new since: nothing told twice


def test_a_damaged_mailbox_is_skipped_and_the_next_request_answered(
    store: Path, reader: Reader
) -> None:
    """A mailbox the reader cannot read is left out of the index (as any reader leaves
    it, and says so in `Reader.errors`): no changes, no error, and the loop goes on."""
    filled(store, "mbox")
    (store / entry(CAROL, "mbox")).write_bytes(b"no From line here\n\0\xff" * 50)
    output = io.BytesIO()
    serve(reader, io.BytesIO(request(entry(CAROL, "mbox")) + request(everything=True)), output)
    damaged, everything = answers_of(output)
    assert damaged == {"changes": []}
    assert [error.split(":")[0] for error in reader.errors] == [entry(CAROL, "mbox")]
    assert sorted(mailbox for _, mailbox, _ in everything["changes"]) == [ALICE, BOB]
    assert CAROL not in indexed(store)


def test_a_broken_index_answers_an_error_and_the_loop_goes_on(store: Path, reader: Reader) -> None:
    filled(store, "mbox")
    index = index_path(store)

    def break_index() -> None:  # a directory where the file was: it cannot be opened
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
        index.mkdir()

    def mend_index() -> None:
        index.rmdir()
        deliver(store, "mbox", [plain("a3", message_id="<a3@test>")])

    output = io.BytesIO()
    alice = request(entry(ALICE, "mbox"))
    serve(reader, Staged((alice, None), (alice, break_index), (alice, mend_index)), output)
    before, broken, after = answers_of(output)
    [(_, _, first_ids)] = before["changes"]
    assert set(broken) == {"error"}
    assert str(index) in broken["error"]
    # Made anew from the files: what it held before, under the same IDs, and the new one.
    [(kind, mailbox, ids)] = after["changes"]
    assert (kind, mailbox) == ("new", ALICE)
    assert set(first_ids) < set(ids)
    assert indexed(store) == {ALICE: set(ids)}


def test_the_end_of_the_requests_ends_the_loop(store: Path, reader: Reader) -> None:
    """Over a pipe, as the process reads its stdin: it waits for the next request while
    the pipe is open, and returns once it is closed."""
    filled(store, "mbox")
    requests_r, requests_w = os.pipe()
    answers_r, answers_w = os.pipe()
    failures: list[BaseException] = []

    def loop() -> None:
        try:
            with open(requests_r, "rb") as requests, open(answers_w, "wb") as answers:
                serve(reader, requests, answers)
        except BaseException as error:  # told to the test, not lost with the thread
            failures.append(error)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        os.write(requests_w, request(everything=True))
        ready, _, _ = select.select([answers_r], [], [], WAIT)
        assert ready, "no answer"
        assert b'"changes"' in os.read(answers_r, 65536)
        thread.join(0.2)
        assert thread.is_alive()  # waiting for the next request
    finally:
        os.close(requests_w)
        thread.join(WAIT)
        os.close(answers_r)
    assert not thread.is_alive()
    assert failures == []
