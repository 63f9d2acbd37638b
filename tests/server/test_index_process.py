"""The server's index kept by a child process (`ProcessRounds`), against real children:
a round indexed there and heard here, the child reaped at the close, a child killed
between rounds started again without losing or doubling anything, a child that cannot
run leaving the rounds to this process, and what the child does to keep its answers
readable (stdout pointed away) and to finish its round at a Ctrl-C (SIGINT ignored).

Then a real `postier serve`: its indexer is a child of its own, which ends when the
server is killed with SIGKILL (its stdin ends) and when it stops gracefully (after the
last round, every delivered message indexed).

The live events hear a round of the child as they hear a sync here: a `new` frame, with
the hub's own periodic look at the index out of the way. (`/api/events` of a real `serve`
hearing a message sent over SMTP is `tests/web/test_events.py::
test_a_running_server_tells_smtp_arrivals_and_says_goodbye_at_a_stop`; that look alone
would let it pass.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import smtplib
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from postier.server.index_process import ProcessRounds
from postier.store.index.database import index_path
from postier.store.read import Change, Indexer, Reader
from postier.web import Mail, WebContext, build_app
from postier.web.events import HUB
from tests.conftest import StartServer
from tests.store_read.helpers import deliver, plain
from tests.support.processes import children, state
from tests.support.server import ServerProcess

ALICE, BOB = "alice@example.org", "bob@example.org"
ALICE_BOX, BOB_BOX = f"{ALICE}.mbox", f"{BOB}.mbox"
CHILD = "postier.server.index_child"
"""What the indexing process's command line holds."""
WAIT = 10.0
"""Seconds a process gets to start, to end, or to index a delivery."""


# -- helpers -------------------------------------------------------------------------


def rows(store: Path) -> list[tuple[str, str, str]]:
    """(mailbox, Message-ID, ID) of every row of the index's messages, hidden ones too,
    read-only ([] while there is no index, or while a server's child is making it)."""
    path = index_path(store)
    if not path.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            found = conn.execute("SELECT mailbox, message_id, id FROM messages").fetchall()
    except sqlite3.DatabaseError:  # no tables yet
        return []
    return [(str(mailbox), str(mid), str(id_)) for mailbox, mid, id_ in found]


def ids_of(store: Path, mailbox: str) -> set[str]:
    return {id_ for box, _, id_ in rows(store) if box == mailbox}


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


def gone(pid: int) -> bool:
    """Ended and reaped: no /proc entry left, not even a zombie's."""
    return state(pid) is None


def ended(pid: int) -> bool:
    """Ended, reaped or not (a process that is not ours is reaped by whoever adopted it)."""
    return state(pid) in (None, "Z")


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def kill_if_alive(pid: int, store: Path) -> None:
    """SIGKILL to `pid` if it is still an indexing process of `store` (not another that
    was given its number since)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if not ended(pid) and str(store).encode() in command:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


class Heard:
    """What a reader's subscribers are told."""

    def __init__(self, reader: Reader) -> None:
        self.changes: list[Change] = []
        self.stop = reader.subscribe(self.changes.append)

    def take(self) -> list[Change]:
        taken, self.changes[:] = list(self.changes), []
        return taken


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with two messages for Alice (made first: a reader of a store that does not
    exist keeps its index in memory)."""
    path = tmp_path / "mail"
    path.mkdir()
    alice = [plain("a1", message_id="<a1@test>"), plain("a2", message_id="<a2@test>")]
    deliver(path, "mbox", alice)
    return path


@pytest.fixture
def reader(store: Path) -> Iterator[Reader]:
    """The server's reader: it never syncs here, the child does."""
    with Reader(store, fsync=False) as opened:
        yield opened


@pytest.fixture
def start_rounds(store: Path, reader: Reader) -> Iterator[Callable[..., ProcessRounds]]:
    """`ProcessRounds(reader, program=...)`, closed at the end (and its child killed by
    its PID if it outlived the close)."""
    started: list[tuple[ProcessRounds, list[int]]] = []

    def start(program: list[str] | None = None) -> ProcessRounds:
        rounds = ProcessRounds(reader, program=program)
        started.append((rounds, [] if rounds.pid is None else [rounds.pid]))
        return rounds

    try:
        yield start
    finally:
        for rounds, pids in started:
            if rounds.pid is not None:
                pids.append(rounds.pid)
            rounds.close()
            for pid in pids:
                kill_if_alive(pid, store)


# -- one child -----------------------------------------------------------------------


def test_a_round_is_indexed_by_the_child_and_heard_here(
    store: Path, reader: Reader, start_rounds: Callable[..., ProcessRounds]
) -> None:
    rounds = start_rounds()
    heard = Heard(reader)
    assert rows(store) == []
    rounds.sync({ALICE_BOX})
    alice = ids_of(store, ALICE)
    assert len(alice) == 2
    assert [(c.kind, c.mailbox, set(c.ids)) for c in heard.take()] == [("new", ALICE, alice)]
    pid = rounds.pid
    assert pid is not None and pid != os.getpid()
    assert parent_of(pid) == os.getpid()
    assert children(os.getpid(), running=CHILD) == [pid]
    rounds.sync({ALICE_BOX})  # nothing new: nothing heard
    assert heard.take() == []


def test_the_close_reaps_the_child(start_rounds: Callable[..., ProcessRounds]) -> None:
    rounds = start_rounds()
    pid = rounds.pid
    assert pid is not None and state(pid) not in (None, "Z")
    rounds.close()
    assert rounds.pid is None
    wait_until(lambda: gone(pid), f"child {pid} reaped")


def test_a_child_killed_between_rounds_is_started_again(
    store: Path,
    reader: Reader,
    start_rounds: Callable[..., ProcessRounds],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    rounds = start_rounds()
    heard = Heard(reader)
    rounds.sync({ALICE_BOX})
    before = ids_of(store, ALICE)
    assert len(heard.take()) == 1
    first = rounds.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: state(first) == "Z", f"child {first} dead")  # ours to reap: a zombie
    deliver(store, "mbox", [plain("a3", message_id="<a3@test>")])
    deliver(store, "mbox", [plain("b1", message_id="<b1@test>", to=BOB)], [BOB])
    rounds.sync(None)  # every mailbox: Alice's two are read again by the new child
    [warning] = warnings(caplog)
    assert "the indexing process ended (signal 9): starting another" in warning
    second = rounds.pid
    assert second is not None and second != first
    assert children(os.getpid(), running=CHILD) == [second]
    assert gone(first)  # the killed one was reaped
    new_alice = ids_of(store, ALICE) - before
    assert len(new_alice) == 1
    assert sorted((c.kind, c.mailbox, set(c.ids)) for c in heard.take()) == [
        ("new", ALICE, new_alice),
        ("new", BOB, ids_of(store, BOB)),
    ]
    found = rows(store)
    assert sorted(mid for _, mid, _ in found) == [
        "<a1@test>", "<a2@test>", "<a3@test>", "<b1@test>"
    ]  # fmt: skip
    assert len({id_ for _, _, id_ in found}) == len(found)
    rounds.sync({BOB_BOX})  # and it goes on
    assert heard.take() == []
    assert len(warnings(caplog)) == 1


def test_a_child_that_cannot_run_leaves_the_rounds_to_this_process(
    store: Path,
    reader: Reader,
    start_rounds: Callable[..., ProcessRounds],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    rounds = start_rounds([sys.executable, "-c", "import sys; sys.exit(3)"])
    first = rounds.pid
    assert first is not None
    heard = Heard(reader)
    rounds.sync({ALICE_BOX})
    assert [w.split(" (")[0] for w in warnings(caplog)] == [
        "the indexing process ended",
        "the indexing process ended again",
    ]
    assert "exit status 3" in warnings(caplog)[0]
    assert warnings(caplog)[1].endswith("indexing in this one")
    assert rounds.pid is None
    assert children(os.getpid(), running="sys.exit(3)") == []  # both reaped
    alice = ids_of(store, ALICE)
    assert len(alice) == 2
    assert [(c.kind, c.mailbox, set(c.ids)) for c in heard.take()] == [("new", ALICE, alice)]
    deliver(store, "mbox", [plain("b1", message_id="<b1@test>", to=BOB)], [BOB])
    rounds.sync({BOB_BOX})  # the later rounds here too, and no child tried again
    assert [(c.kind, c.mailbox) for c in heard.take()] == [("new", BOB)]
    assert len(ids_of(store, BOB)) == 1
    assert len(warnings(caplog)) == 2
    assert rounds.pid is None


NOISY = (
    "import sys\n"
    "from postier.server import index_child\n"
    "from postier.store.read import Reader\n"
    "synced = Reader.sync\n"
    "def noisy(self, only=None):\n"
    "    print('a stray print', flush=True)\n"
    "    return synced(self, only)\n"
    "Reader.sync = noisy\n"
    "sys.exit(index_child.main(sys.argv[1:]))\n"
)
"""The child, whose every round also prints to its stdout."""


def test_what_the_child_prints_does_not_garble_its_answers(
    store: Path,
    reader: Reader,
    start_rounds: Callable[..., ProcessRounds],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.WARNING)
    rounds = start_rounds([sys.executable, "-c", NOISY])
    heard = Heard(reader)
    rounds.sync({ALICE_BOX})
    assert [(c.kind, c.mailbox) for c in heard.take()] == [("new", ALICE)]
    assert warnings(caplog) == []
    rounds.close()
    assert "a stray print" in capfd.readouterr().err  # on stderr: the server's log


def test_a_ctrl_c_does_not_end_the_child(
    store: Path,
    reader: Reader,
    start_rounds: Callable[..., ProcessRounds],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ctrl-C reaches the terminal's whole group: the server shuts down and closes the
    child's stdin, and the child must still be there to finish the last round."""
    caplog.set_level(logging.WARNING)
    rounds = start_rounds()
    heard = Heard(reader)
    rounds.sync({ALICE_BOX})  # started and answering: its handler is set by now
    heard.take()
    pid = rounds.pid
    assert pid is not None
    os.kill(pid, signal.SIGINT)
    deliver(store, "mbox", [plain("b1", message_id="<b1@test>", to=BOB)], [BOB])
    rounds.sync({BOB_BOX})
    assert [(c.kind, c.mailbox) for c in heard.take()] == [("new", BOB)]
    assert rounds.pid == pid
    assert warnings(caplog) == []


# -- the live events ---------------------------------------------------------------


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of type `kind` (others are skipped), within `WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        message = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        if frame["Type"] == kind:
            return frame


def test_the_live_events_hear_the_childs_round(
    store: Path, reader: Reader, start_rounds: Callable[..., ProcessRounds]
) -> None:
    indexer = Indexer(reader, "mbox", delay=0.0, rounds=start_rounds())
    mail = Mail(reader, look=indexer.look)
    app = build_app(WebContext(mail))
    app[HUB].poll = 3600.0  # no look at the index: only what a round announces is heard

    async def test() -> None:
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        try:
            ws = await client.ws_connect("/api/events")
            await next_frame(ws, "stats")
            message = plain("Through the child", message_id="<b1@test>", to=BOB)
            await asyncio.to_thread(deliver, store, "mbox", [message], [BOB])
            indexer.delivered([BOB])  # as the store thread says after a batch
            frame = await next_frame(ws, "new")
            assert frame["Data"]["Subject"] == "Through the child"
            await ws.close()
        finally:
            await client.close()

    try:
        asyncio.run(asyncio.wait_for(test(), 60))
    finally:
        indexer.close()
        mail.close()


# -- a real server -------------------------------------------------------------------


def message(token: str, address: str) -> bytes:
    return (
        f"From: sender@example.com\r\nTo: {address}\r\nSubject: {token}\r\n"
        f"Message-ID: <{token}@test>\r\n\r\nThe message {token}.\r\n"
    ).encode()


def send(server: ServerProcess, tokens: list[str], address: str = ALICE) -> None:
    """Each token's message in one session; fails unless each DATA is answered 250."""
    with smtplib.SMTP(*server.address, timeout=10) as client:
        for token in tokens:
            assert client.sendmail("sender@example.com", [address], message(token, address)) == {}


def indexer_child(server: ServerProcess) -> int:
    """The server's indexing process, once it is running."""
    assert server.process is not None
    found: list[int] = []

    def one() -> bool:
        assert server.process is not None
        found[:] = children(server.process.pid, running=CHILD)
        return len(found) == 1

    wait_until(one, f"one indexing process of the server\n{server.log_text()}")
    return found[0]


@pytest.fixture
def serving(start_server: StartServer) -> Iterator[tuple[ServerProcess, int]]:
    """A server and its indexing process (killed by its PID at the end if it outlived
    the server)."""
    server = start_server("--no-fsync")
    child = indexer_child(server)
    try:
        yield server, child
    finally:
        server.stop()
        kill_if_alive(child, server.store)


def test_the_servers_indexer_is_a_child_that_indexes(serving: tuple[ServerProcess, int]) -> None:
    server, child = serving
    assert server.process is not None and child != server.process.pid
    assert parent_of(child) == server.process.pid
    send(server, ["first"])
    wait_until(lambda: [mid for _, mid, _ in rows(server.store)] == ["<first@test>"], "indexed")
    assert "indexing in this one" not in server.log_text()


def test_the_child_ends_when_the_server_is_killed(serving: tuple[ServerProcess, int]) -> None:
    server, child = serving
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)  # the server alone, not its group
    server.process.wait(WAIT)
    wait_until(lambda: ended(child), f"child {child} ended after the server's kill -9")


def test_a_graceful_stop_indexes_every_message_and_ends_the_child(
    serving: tuple[ServerProcess, int],
) -> None:
    server, child = serving
    tokens = [f"m{number:02d}" for number in range(30)]
    send(server, tokens[:15], ALICE)
    send(server, tokens[15:], BOB)
    server.signal(signal.SIGTERM)  # at once: the last batches are indexed while stopping
    assert server.wait(20) == 0, server.log_text()
    wait_until(lambda: gone(child), f"child {child} reaped by the server")
    assert sorted(mid for _, mid, _ in rows(server.store)) == [f"<{t}@test>" for t in tokens]
    assert "indexing process" not in server.log_text()  # no restart, no fallback


def test_ctrl_c_on_the_group_lets_the_child_finish(serving: tuple[ServerProcess, int]) -> None:
    server, child = serving
    assert server.process is not None
    # Not in the server's group: the terminal's SIGINT never reaches it, not even while
    # it starts (before it ignores SIGINT itself).
    assert os.getpgid(child) != os.getpgid(server.process.pid)
    send(server, ["before-ctrl-c"])
    os.killpg(server.process.pid, signal.SIGINT)  # what a terminal does
    assert server.wait(20) == 0, server.log_text()
    wait_until(lambda: gone(child), f"child {child} reaped by the server")
    assert [mid for _, mid, _ in rows(server.store)] == ["<before-ctrl-c@test>"]
    text = server.log_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "indexing process" not in text, text
