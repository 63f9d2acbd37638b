"""Many clients at once to one mailbox: every message stored once, whole, never interleaved."""

from __future__ import annotations

import smtplib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import StartServer
from tests.faults.numbered import check_stored, numbered_message, token_of
from tests.support.mailboxes import messages, settled_journals
from tests.support.server import ServerProcess

CLIENTS = 50
MESSAGES = 20
RECIPIENT = "box@test.com"


def send_all(server: ServerProcess, client: int, start: threading.Barrier) -> list[str]:
    """One session, MESSAGES transactions; the tokens acknowledged with 250."""
    acknowledged: list[str] = []
    with smtplib.SMTP(server.host, server.port, f"c{client}.test", timeout=60) as smtp:
        start.wait(30)
        for number in range(MESSAGES):
            token = token_of(client, number)
            # Sizes from 1 kB to about 40 kB, so that appends of all lengths interleave.
            size = 1024 + (client * 7919 + number * 104729) % 40000
            refused = smtp.sendmail("a@test.com", [RECIPIENT], numbered_message(token, size))
            assert refused == {}
            acknowledged.append(token)
    return acknowledged


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_50_clients_20_messages_to_one_mailbox(start_server: StartServer, fmt: str) -> None:
    server = start_server("--format", fmt)  # fsync on: the default
    start = threading.Barrier(CLIENTS)
    began = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(send_all, server, n, start) for n in range(CLIENTS)]
        acknowledged = [token for future in futures for token in future.result(timeout=110)]
    elapsed = time.monotonic() - began
    assert len(acknowledged) == CLIENTS * MESSAGES

    stored = messages(server.store, RECIPIENT, fmt)
    tokens = Counter(check_stored(message, RECIPIENT) for message in stored)
    assert len(stored) == CLIENTS * MESSAGES
    assert tokens == Counter(acknowledged)  # each once, none foreign
    assert settled_journals(server.store) == []
    if fmt == "mbox":
        # Each client's messages keep their order inside the one file.
        order = [check_stored(message, RECIPIENT) for message in stored]
        for client in range(CLIENTS):
            mine = [t for t in order if t.startswith(f"c{client:03d}-")]
            assert mine == sorted(mine)
    print(
        f"\n{fmt}: {CLIENTS} clients x {MESSAGES} messages, fsync: {len(stored)} stored intact"
        f" in {elapsed:.2f}s ({len(stored) / elapsed:.0f} msg/s)"
    )
