"""`--workers 2 --metrics`: the first worker alone serves `/metrics`, and its figures
cover every worker's sessions (prometheus_client's multiprocess mode, in a directory
the parent makes for the run and removes at its end)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.metrics.scrape import scrape, send, value
from tests.support.server import ServerProcess

MOST = 200
"""Connections sent at most before both workers took one (the kernel spreads them)."""


def both_accepted(log: str) -> bool:
    return all(re.search(rf"worker {n}: accepted", log) for n in (1, 2))


def test_figures_of_every_worker(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    arguments = ("--http-port", "0", "--metrics", "--workers", "2")
    server = ServerProcess(tmp_path / "store", *arguments, env={"TMPDIR": str(temporary)})
    with server:
        sent = 0
        while sent < 4 or not both_accepted(server.log_text()):
            assert sent < MOST, "a worker took no connection"
            send(server, "one@example.org")
            sent += 1
        assert len(list(temporary.iterdir())) == 1  # the run's directory
        server.wait_for_log(r"worker \d: accepted", count=sent)
        samples = scrape(server)
        accepted = len(re.findall(r"worker \d: accepted", server.log_text()))
    assert accepted == sent
    assert value(samples, "postier_smtp_messages_accepted_total") == sent
    assert value(samples, "postier_smtp_sessions_total") == sent
    assert value(samples, "postier_smtp_delivery_seconds_count") == sent
    assert list(temporary.iterdir()) == []  # removed with the workers
