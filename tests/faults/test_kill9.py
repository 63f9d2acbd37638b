"""kill -9 under load, then a restart: no acknowledged message lost, no half message left."""

from __future__ import annotations

import os
import smtplib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from tests.conftest import StartServer
from tests.faults.numbered import check_stored, numbered_message, token_of
from tests.support.mailboxes import mbox_path, messages, settled_journals
from tests.support.server import ServerProcess

SENDERS = 8
RECIPIENTS = ("one@test.com", "two@test.com")
KILL_AFTER = 120
"""Acknowledged messages (per round) before the kill."""
ROUNDS = 2


@dataclass
class Load:
    """What the senders tried and what the server acknowledged, shared by their threads."""

    attempted: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[BaseException] = field(default_factory=list)

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def sender(server: ServerProcess, load: Load, client: int) -> None:
    """Send numbered messages until stopped or the server dies; record each 250."""
    number = 0
    try:
        with smtplib.SMTP(server.host, server.port, f"c{client}.test", timeout=20) as smtp:
            while not load.stop.is_set() and number < 10_000:
                token = token_of(client, number)
                number += 1
                # Two recipients: a batch spans two mailboxes, and larger copies (up to
                # about 100 kB) widen the window in which the kill lands mid-append.
                size = 2000 + (client * 7919 + number * 104729) % 100_000
                with load.lock:
                    load.attempted.add(token)
                smtp.sendmail("a@test.com", list(RECIPIENTS), numbered_message(token, size))
                with load.lock:
                    load.acknowledged.add(token)
    except (OSError, smtplib.SMTPException):
        return  # the server was killed under us: expected
    except BaseException as error:  # an assertion or a bug in the test itself
        load.failures.append(error)


def run_round(server: ServerProcess, round_: int) -> tuple[Load, float]:
    load = Load()
    threads = [
        threading.Thread(target=sender, args=(server, load, round_ * 100 + n), daemon=True)
        for n in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline = began + 60
    while load.count() < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.01)
    assert load.count() >= KILL_AFTER, "the load never got going"
    server.kill()
    killed_at = time.monotonic() - began
    load.stop.set()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    assert load.failures == []
    return load, killed_at


def check_store(
    server: ServerProcess, fmt: str, acknowledged: set[str], attempted: set[str]
) -> int:
    """Every acknowledged message present once, nothing half-written; the count found."""
    found: Counter[str] = Counter()
    for recipient in RECIPIENTS:
        stored = messages(server.store, recipient, fmt)
        tokens = Counter(check_stored(message, recipient) for message in stored)
        duplicated = [token for token, n in tokens.items() if n > 1]
        assert duplicated == [], f"{recipient}: stored twice: {duplicated}"
        missing = acknowledged - tokens.keys()
        assert not missing, f"{recipient}: acknowledged but lost: {sorted(missing)}"
        assert tokens.keys() <= attempted
        found += tokens
        if fmt == "mbox":
            raw = mbox_path(server.store, recipient).read_bytes()
            assert raw.startswith(b"From ") and raw.endswith(b"\n\n")
        else:
            # A copy cut short stays in tmp/ (not a message); new/ holds only whole ones.
            new = server.store / recipient / "new"
            assert len(os.listdir(new)) == len(stored)
    # Both recipients got the same messages: a delivery is all or nothing.
    one, two = ({check_stored(m, r) for m in messages(server.store, r, fmt)} for r in RECIPIENTS)
    assert one == two
    return len(one)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_kill_9_under_load_then_restart(start_server: StartServer, fmt: str) -> None:
    server = start_server("--format", fmt)  # fsync on
    acknowledged: set[str] = set()
    attempted: set[str] = set()
    figures = []
    for round_ in range(ROUNDS):
        load, killed_at = run_round(server, round_)
        acknowledged |= load.acknowledged
        attempted |= load.attempted
        server.start()  # the same store: recovery runs before it listens
        assert settled_journals(server.store) == []
        found = check_store(server, fmt, acknowledged, attempted)
        figures.append(
            f"round {round_ + 1}: killed after {killed_at:.2f}s, {len(load.attempted)} begun,"
            f" {len(load.acknowledged)} acknowledged; {found} found in all after restart"
        )
    # The restarted server works, and appends cleanly behind what recovery left.
    with smtplib.SMTP(server.host, server.port, timeout=20) as smtp:
        smtp.sendmail("a@test.com", list(RECIPIENTS), numbered_message("after-restart"))
    final = check_store(
        server, fmt, acknowledged | {"after-restart"}, attempted | {"after-restart"}
    )
    rolled_back = server.log_text().count("a dead delivery was rolled back")
    print(f"\n{fmt} kill -9: " + "; ".join(figures))
    print(
        f"{fmt} kill -9: {final} messages at the end; {rolled_back} dead transaction(s) rolled back"
    )
