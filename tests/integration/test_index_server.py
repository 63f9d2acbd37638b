"""The index a running `postier serve` keeps (mbox and Maildir): filled soon after each
250 with no reader's help, made again when it is deleted or damaged under the server,
shared by two servers on one store, read while the server writes it, and followed by
`postier watch`.

The index is looked at here in two ways that do not depend on each other: straight from
its SQLite file, read-only (so that the look itself cannot bring it up to date), and
through the CLI in a process of its own, as a user reads mail.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from postier.store.index.database import index_path
from postier.store.read import Reader
from tests.conftest import StartServer
from tests.support.server import ServerProcess

FORMATS = pytest.mark.parametrize("fmt", ["mbox", "maildir"])
INDEXED_WITHIN = 30.0
"""Seconds the server's indexer gets to index a delivery (it needs about 50 ms)."""
SETTLE = 0.5
"""Ten times the indexer's delay after a batch: what a server that indexes has done by then."""
INDEX_FILES = ("", "-wal", "-shm")
ALICE, BOB = "alice@example.org", "bob@example.org"


# -- sending -------------------------------------------------------------------------


def message(token: str, address: str) -> bytes:
    """A message whose Subject is `token` and whose Message-ID is `<token@test>`."""
    return (
        f"From: Sender <sender@example.com>\r\nTo: {address}\r\nSubject: {token}\r\n"
        f"Message-ID: <{token}@test>\r\nDate: Fri, 27 Nov 2026 03:23:09 +0100\r\n\r\n"
        f"The message {token}.\r\n"
    ).encode()


def send(server: ServerProcess, address: str, token: str) -> None:
    """One message through smtplib; fails unless DATA is answered 250."""
    with smtplib.SMTP(*server.address, timeout=10) as client:
        client.ehlo("client.test")
        assert client.mail("sender@example.com")[0] == 250
        assert client.rcpt(address)[0] == 250
        code, reply = client.data(message(token, address))
        assert code == 250, reply


def mid(token: str) -> str:
    return f"<{token}@test>"


# -- looking at the index ------------------------------------------------------------


def indexed(store: Path) -> dict[str, str]:
    """Message-ID -> ID of every message the index file holds, read-only; {} while there
    is no file or no readable database."""
    path = index_path(store)
    if not path.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT message_id, id FROM messages WHERE hidden = 0").fetchall()
    except sqlite3.DatabaseError:  # being made, or damaged: not yet
        return {}
    return {str(message_id): str(id_) for message_id, id_ in rows}


def wait_indexed(
    server: ServerProcess, tokens: list[str], timeout: float = INDEXED_WITHIN
) -> dict[str, str]:
    """Poll the index file (no reader syncs it) until it holds every token's message."""
    wanted = {mid(token) for token in tokens}
    deadline = time.monotonic() + timeout
    while True:
        found = indexed(server.store)
        if wanted <= found.keys():
            return {token: found[mid(token)] for token in tokens}
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not indexed within {timeout} s: {sorted(wanted - found.keys())}\n"
                f"{server.log_text()}"
            )
        time.sleep(0.05)


def postier(server: ServerProcess, *args: str) -> str:
    """`python -m postier ARGS --store STORE` in a process of its own; its output."""
    result = subprocess.run(
        [sys.executable, "-m", "postier", *args, "--store", str(server.store)],
        env=server.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


def read_ids(server: ServerProcess, address: str) -> dict[str, str]:
    """Subject -> ID of each message `postier read ADDRESS --json` lists."""
    documents: list[dict[str, Any]] = json.loads(postier(server, "read", address, "--json"))
    ids = {document["subject"]: document["id"] for document in documents}
    assert len(ids) == len(documents), documents  # no message listed twice
    return ids


def started(
    start_server: StartServer, fmt: str, *args: str, store: Path | None = None
) -> ServerProcess:
    """A server of format `fmt` whose indexer has made the index (its first round reads
    every mailbox)."""
    server = start_server("--format", fmt, *args, store=store)
    deadline = time.monotonic() + INDEXED_WITHIN
    while not index_path(server.store).exists():
        assert time.monotonic() < deadline, f"no index made:\n{server.log_text()}"
        time.sleep(0.02)
    time.sleep(0.1)
    return server


# -- the tests -----------------------------------------------------------------------


@FORMATS
def test_a_delivery_is_indexed_by_the_server_itself(start_server: StartServer, fmt: str) -> None:
    server = started(start_server, fmt)
    send(server, ALICE, "first")
    ids = wait_indexed(server, ["first"])
    assert read_ids(server, ALICE) == ids
    assert ids["first"]


@FORMATS
def test_no_index_leaves_it_to_the_readers(start_server: StartServer, fmt: str) -> None:
    server = start_server("--format", fmt, "--no-index")
    send(server, ALICE, "unindexed")
    time.sleep(SETTLE)
    assert not index_path(server.store).exists()
    [row] = json.loads(postier(server, "inbox", "--json"))
    assert (row["mailbox"], row["count"], row["unread"]) == (ALICE, 1, 1)
    assert mid("unindexed") in indexed(server.store)  # the reader made it


@FORMATS
def test_the_index_deleted_under_the_server(start_server: StartServer, fmt: str) -> None:
    server = started(start_server, fmt)
    send(server, ALICE, "a1")
    send(server, BOB, "b1")
    before = wait_indexed(server, ["a1", "b1"])
    for suffix in INDEX_FILES:
        Path(f"{index_path(server.store)}{suffix}").unlink(missing_ok=True)
    send(server, ALICE, "a2")
    # The server makes the index anew, and reads the whole mailbox it delivered to.
    after = wait_indexed(server, ["a1", "a2"])
    assert after["a1"] == before["a1"]  # IDs are stable: the same from the files again
    assert read_ids(server, ALICE) == after
    assert read_ids(server, BOB) == {"b1": before["b1"]}
    send(server, BOB, "b2")  # and the server goes on with the index the reader made
    assert wait_indexed(server, ["b1", "b2"])["b1"] == before["b1"]


def garbage_in_place(index: Path, chance: random.Random) -> None:
    """Every byte of the index's files replaced: same inodes, same sizes (the -shm the
    server has mapped changes under it at once)."""
    for suffix in INDEX_FILES:
        path = Path(f"{index}{suffix}")
        size = path.stat().st_size if path.exists() else 0
        if size:
            with open(path, "r+b") as file:
                file.write(chance.randbytes(size))


def garbage_file(index: Path, chance: random.Random) -> None:
    """A file of garbage renamed over the index (another inode); its side files removed."""
    for suffix in INDEX_FILES[1:]:
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    temporary = index.with_name("garbage.tmp")
    temporary.write_bytes(chance.randbytes(8192))
    os.replace(temporary, index)


@FORMATS
@pytest.mark.parametrize("damage", [garbage_in_place, garbage_file], ids=["in-place", "replaced"])
def test_the_index_overwritten_with_garbage_under_the_server(
    start_server: StartServer, fmt: str, damage: Callable[[Path, random.Random], None]
) -> None:
    server = started(start_server, fmt)
    send(server, ALICE, "a1")
    send(server, BOB, "b1")
    before = wait_indexed(server, ["a1", "b1"])
    damage(index_path(server.store), random.Random(20261127))
    send(server, ALICE, "a2")
    send(server, BOB, "b2")
    # The server throws the damaged index away and makes it again from the files.
    after = wait_indexed(server, ["a1", "a2", "b1", "b2"])
    assert {token: after[token] for token in before} == before
    assert read_ids(server, ALICE) == {"a1": after["a1"], "a2": after["a2"]}
    assert read_ids(server, BOB) == {"b1": after["b1"], "b2": after["b2"]}
    send(server, ALICE, "a3")  # and goes on with it
    assert wait_indexed(server, ["a1", "a2", "a3"])["a1"] == before["a1"]
    assert server.process is not None and server.process.poll() is None


@FORMATS
def test_two_servers_on_one_store_share_the_index(
    start_server: StartServer, tmp_path: Path, fmt: str
) -> None:
    store = tmp_path / "mail"
    first = started(start_server, fmt, store=store)
    second = started(start_server, fmt, store=store)
    assert first.address != second.address
    send(first, ALICE, "by-first")
    send(second, ALICE, "by-second")
    send(second, BOB, "bob-by-second")
    ids = wait_indexed(first, ["by-first", "by-second", "bob-by-second"])
    assert read_ids(first, ALICE) == {"by-first": ids["by-first"], "by-second": ids["by-second"]}
    assert read_ids(second, BOB) == {"bob-by-second": ids["bob-by-second"]}
    send(first, BOB, "bob-by-first")  # each server's indexer keeps writing to the one index
    assert (
        wait_indexed(second, ["bob-by-second", "bob-by-first"])["bob-by-second"]
        == (ids["bob-by-second"])
    )


def keep_looking(store: Path, stop: threading.Event, errors: list[BaseException]) -> None:
    """What a web page or a watch does: bring the index up to date again and again."""
    try:
        with Reader(store) as reader:
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                reader.sync()
    except BaseException as error:  # told to the test, not lost with the thread
        errors.append(error)


@FORMATS
def test_a_reader_looking_while_the_server_delivers_misses_nothing(
    start_server: StartServer, fmt: str
) -> None:
    server = started(start_server, fmt)
    stop = threading.Event()
    errors: list[BaseException] = []
    looker = threading.Thread(target=keep_looking, args=(server.store, stop, errors))
    looker.start()
    tokens = [f"n{number:02d}" for number in range(60)]
    try:
        for number, token in enumerate(tokens):  # a new mailbox each: nothing moves it later
            send(server, f"user{number:02d}@example.org", token)
    finally:
        stop.set()
        looker.join(30)
    assert errors == []
    wait_indexed(server, tokens, timeout=5)
    inbox = json.loads(postier(server, "inbox", "--json"))
    assert sorted((row["mailbox"], row["count"]) for row in inbox) == [
        (f"user{number:02d}@example.org", 1) for number in range(60)
    ]


# -- postier watch -------------------------------------------------------------------


def lines_within(stream: IO[bytes], count: int, timeout: float, quiet: float) -> list[bytes]:
    """The lines `stream` gives until it has given `count` (or `timeout` passed), and then
    any more that come within `quiet` seconds."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        if data.count(b"\n") >= count:
            deadline = min(deadline, time.monotonic() + quiet)
            count = sys.maxsize  # from now on, only waiting for extra lines
        left = deadline - time.monotonic()
        if left <= 0:
            return data.splitlines()
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return data.splitlines()
            data += chunk


def wait_for_text(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in {path} within {timeout} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C by its PID, then kill -9 if it does not end."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            return process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode


@FORMATS
def test_watch_prints_each_delivery_once_with_its_id(
    start_server: StartServer, tmp_path: Path, fmt: str
) -> None:
    server = started(start_server, fmt)
    send(server, ALICE, "before-the-watch")
    wait_indexed(server, ["before-the-watch"])
    errors = tmp_path / "watch.err"
    with open(errors, "wb") as err:
        watch = subprocess.Popen(
            [sys.executable, "-m", "postier", "watch", "--json", "--interval", "0.1",
             "--store", str(server.store)],
            env=server.env, stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
    assert watch.stdout is not None
    try:
        wait_for_text(errors, "Watching", timeout=30)
        arrivals = [(ALICE, "w1"), (BOB, "w2"), (ALICE, "w3")]
        for address, token in arrivals:
            send(server, address, token)
        lines = lines_within(watch.stdout, len(arrivals), timeout=30, quiet=1.0)
    finally:
        status = stop(watch)
        watch.stdout.close()
    printed = [json.loads(line) for line in lines]
    assert sorted(line["subject"] for line in printed) == ["w1", "w2", "w3"], printed
    assert status == 0, errors.read_text()
    listed = {**read_ids(server, ALICE), **read_ids(server, BOB)}
    for line in printed:
        assert line["id"] == listed[line["subject"]], line
    assert {line["subject"]: line["mailbox"] for line in printed} == {
        token: address for address, token in arrivals
    }
