"""`--workers N`: N processes share one port and one store, and stop together."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.faults.numbered import check_stored, numbered_message, token_of
from tests.support.mailboxes import mbox_messages, settled_journals
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles

RECIPIENT = "shared@example.org"
CLIENTS = 40
PER_CLIENT = 5
_READY = re.compile(r"worker (\d+): ready \(pid (\d+)\)")


def worker_pids(server: ServerProcess) -> dict[int, int]:
    """Each worker's number and process id, from the log."""
    return {int(n): int(pid) for n, pid in _READY.findall(server.log_text(since_start=True))}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    """The pids still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def send_all(server: ServerProcess) -> None:
    """CLIENTS connections at once, PER_CLIENT messages each, all numbered."""

    def client(number: int) -> None:
        with smtplib.SMTP(*server.address, timeout=30) as smtp:
            for index in range(PER_CLIENT):
                message = numbered_message(token_of(number, index), 600)
                smtp.sendmail("sender@example.org", [RECIPIENT], message)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))


def send_one(server: ServerProcess) -> None:
    with smtplib.SMTP(*server.address, timeout=30) as smtp:
        smtp.sendmail("sender@example.org", [RECIPIENT], b"Subject: one\r\n\r\nhi\r\n")


def test_two_workers_share_the_port_and_the_store(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server("--workers", "2")
    log = server.log_text(since_start=True)
    assert log.count("listening on") == 1
    assert sorted(worker_pids(server)) == [1, 2]
    send_all(server)
    tokens = Counter(check_stored(m, RECIPIENT) for m in mbox_messages(server.store, RECIPIENT))
    expected = {token_of(c, i) for c in range(CLIENTS) for i in range(PER_CLIENT)}
    assert set(tokens) == expected
    assert max(tokens.values()) == 1  # every message stored exactly once
    served = Counter(re.findall(r"worker (\d+): accepted", server.log_text(since_start=True)))
    assert served.keys() == {"1", "2"}, served  # the kernel spread the clients
    assert sum(served.values()) == CLIENTS * PER_CLIENT
    assert server.stop() == 0
    assert settled_journals(server.store) == []


def test_sigterm_stops_every_worker(start_server: StartServer) -> None:
    server = start_server("--workers", "3")
    pids = list(worker_pids(server).values())
    assert len(pids) == 3 and all(alive(pid) for pid in pids)
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert wait_gone(pids) == []
    assert server.log_text(since_start=True).count("stopped") == 3


def test_sighup_reaches_every_worker_which_goes_on(
    start_server: StartServer, tls_files: TlsFiles
) -> None:
    server = start_server("--workers", "2", "--tls-cert", str(tls_files.pem))
    pids = list(worker_pids(server).values())
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while server.log_text(since_start=True).count("SIGHUP: certificate") < 2:
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)
    assert all(alive(pid) for pid in pids)
    send_one(server)
    assert server.stop() == 0
    assert wait_gone(pids) == []


def test_workers_stop_when_the_parent_is_killed(start_server: StartServer) -> None:
    server = start_server("--workers", "2")
    pids = list(worker_pids(server).values())
    server.kill()  # SIGKILL to the parent's group; the workers have groups of their own
    assert wait_gone(pids) == []


def test_a_worker_that_dies_stops_the_others(start_server: StartServer) -> None:
    server = start_server("--workers", "2")
    pids = worker_pids(server)
    os.kill(pids[1], signal.SIGKILL)
    assert server.wait() != 0
    assert wait_gone(list(pids.values())) == []
    assert "worker 1 died" in server.log_text()


def test_a_worker_that_cannot_start_fails_the_server(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    server = ServerProcess(not_a_directory / "mail", "--workers", "2", log=tmp_path / "log")
    try:
        with pytest.raises(RuntimeError, match="server exited with 1"):
            server.start()
    finally:
        server.stop()  # closes the log
    assert "failed to start" in server.log_text()
    assert "listening on" not in server.log_text()
