"""The relay with `--workers 2`: both workers queue what they accept, the first one sends
it all, each message once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.relay.upstream import (
    Upstream,
    queue_json,
    relaying,
    send,
    tokened,
    tokens_of,
    wait_until,
)

CONNECTIONS = 24


def test_two_workers_relay_every_message_once(tmp_path: Path) -> None:
    tokens = [f"token-worker-{n}" for n in range(CONNECTIONS)]
    with (
        Upstream() as upstream,
        relaying(tmp_path / "mail", upstream.port, "--workers", "2") as server,
    ):
        for token in tokens:  # a connection each: the kernel spreads them over the workers
            send(server, ["a@out.test"], tokened(token))
        wait_until(lambda: len(upstream.messages) >= CONNECTIONS, timeout=30, what="them all")
        wait_until(lambda: queue_json(server.store) == [], what="an empty queue")
        log = server.log_text()
    got = Counter(tokens_of(upstream.messages))
    assert got == Counter(t.encode() for t in tokens)
    queued_by = Counter(re.findall(r"(worker \d+): queued \S+ \(", log))
    assert len(queued_by) == 2, queued_by  # both workers took some in (else not tested)
