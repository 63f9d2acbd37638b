"""One store shared: with a mail reader holding its lock, and with a second server process."""

from __future__ import annotations

import fcntl
import mailbox
import os
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.faults.numbered import check_stored, numbered_message, token_of
from tests.support.mailboxes import mbox_messages, settled_journals
from tests.support.server import ServerProcess
from tests.support.smtp import connect


@contextmanager
def python_mailbox_lock(path: Path) -> Iterator[None]:
    """What a reader built on Python's `mailbox` does: lockf (and a dot-lock file)."""
    box = mailbox.mbox(path, create=False)
    box.lock()
    try:
        yield
    finally:
        box.unlock()
        box.close()


@contextmanager
def flock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def wait_until_unlocked(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    with path.open("rb+") as probe:
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{path.name} stays locked"
                time.sleep(0.01)
                continue
            fcntl.lockf(probe, fcntl.LOCK_UN)
            fcntl.flock(probe, fcntl.LOCK_UN)
            return


@pytest.mark.parametrize("lock", [python_mailbox_lock, flock], ids=["mailbox-lockf", "flock"])
def test_delivery_waits_for_a_reader_holding_the_lock(
    server: ServerProcess, lock: Callable[[Path], AbstractContextManager[None]]
) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
        smtp.sendmail("a@test.com", ["b@test.com"], "Subject: first\r\n\r\n")
    path = server.store / "b@test.com.mbox"
    # The server keeps the mailbox locked a moment after a delivery, while it settles.
    wait_until_unlocked(path)
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<b@test.com>")
        assert client.command("DATA").code == 354
        with lock(path):
            # (stat, not read: closing any descriptor of the file would drop our lockf)
            before = path.stat().st_size
            client.send(b"Subject: second\r\n\r\n.\r\n")
            # The server waits for the lock: no answer, and the file is untouched.
            assert not client.pending(1.0)
            assert path.stat().st_size == before
        assert client.reply(timeout=10).code == 250
    assert len(mbox_messages(server.store, "b@test.com")) == 2


@pytest.mark.slow
def test_two_server_processes_on_one_store(start_server: StartServer, tmp_path: Path) -> None:
    store = tmp_path / "shared"
    servers = [start_server(store=store), start_server(store=store)]
    clients, each = 20, 15

    def send(client: int) -> list[str]:
        server = servers[client % 2]
        sent = []
        with smtplib.SMTP(server.host, server.port, timeout=60) as smtp:
            for number in range(each):
                token = token_of(client, number)
                size = 1000 + (client * 7919 + number * 104729) % 30000
                smtp.sendmail("a@test.com", ["box@test.com"], numbered_message(token, size))
                sent.append(token)
        return sent

    with ThreadPoolExecutor(clients) as pool:
        sent = [t for result in pool.map(send, range(clients), timeout=100) for t in result]
    stored = mbox_messages(store, "box@test.com")
    assert len(stored) == clients * each
    assert Counter(check_stored(m, "box@test.com") for m in stored) == Counter(sent)
    assert settled_journals(store) == []
