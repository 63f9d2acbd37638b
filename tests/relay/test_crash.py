"""The outbound queue across `kill -9`: what was queued before the kill reaches the
upstream after a restart on the same store, none lost; none doubled while the upstream
was down, at most the one being sent at the kill otherwise (the design's one window,
between the upstream's 250 and the entry's removal)."""

from __future__ import annotations

import smtplib
from collections import Counter
from pathlib import Path

import pytest

from tests.relay.upstream import (
    ScriptedHandler,
    Upstream,
    postier,
    queue_json,
    relaying,
    tokened,
    tokens_of,
    wait_until,
)
from tests.support.ports import free_port
from tests.support.server import ServerProcess

QUEUED = 200


def _send_all(server: ServerProcess, tokens: list[str]) -> None:
    """One message per token, over one connection; each must hear 250."""
    with smtplib.SMTP(*server.address, timeout=30) as client:
        for token in tokens:
            assert client.sendmail("me@here.test", ["a@out.test"], tokened(token)) == {}


def _flush(server: ServerProcess) -> None:
    """Every entry due now (the restarted deliverer would otherwise wait out its backoff)."""
    flushed = postier("queue", "--store", str(server.store), "--flush")
    assert flushed.returncode == 0, flushed.stderr


@pytest.mark.slow
def test_kill_9_with_200_queued_and_the_upstream_down_loses_and_doubles_none(
    tmp_path: Path,
) -> None:
    port = free_port()
    tokens = [f"token-queued-{n}" for n in range(QUEUED)]
    server = relaying(tmp_path / "mail", port)
    try:
        server.start()
        _send_all(server, tokens)
        assert len(queue_json(server.store)) == QUEUED  # each 250 promised its queued copy
        server.kill()
        with Upstream(port=port) as upstream:
            server.start()
            _flush(server)
            wait_until(lambda: len(upstream.messages) >= QUEUED, timeout=60, what="all 200")
            wait_until(lambda: queue_json(server.store) == [], what="an empty queue")
            got = Counter(tokens_of(upstream.messages))
    finally:
        server.stop()
    assert set(got) == {t.encode() for t in tokens}  # none lost
    assert [t for t, n in got.items() if n > 1] == []  # none doubled


def test_kill_9_while_sending_to_a_slow_upstream_loses_none(tmp_path: Path) -> None:
    count = 12
    tokens = [f"token-sending-{n}" for n in range(count)]
    handler = ScriptedHandler(data_delay=0.4)
    with Upstream(handler) as upstream:
        server = relaying(tmp_path / "mail", upstream.port)
        try:
            server.start()
            _send_all(server, tokens)
            # The third end of data is in the upstream's hands, unanswered: kill now.
            wait_until(lambda: len(handler.data_seen) >= 3, what="the third message upstream")
            server.kill()
            left = len(queue_json(server.store))
            assert 0 < left <= count - 2
            handler.data_delay = 0.0
            server.start()
            _flush(server)
            wait_until(lambda: queue_json(server.store) == [], timeout=30, what="an empty queue")
            got = Counter(tokens_of(upstream.messages))
        finally:
            server.stop()
    assert set(got) == {t.encode() for t in tokens}  # none lost
    doubled = sorted(t for t, n in got.items() if n > 1)
    print(f"kill -9 while sending: {len(doubled)} duplicate(s) {doubled}")
    # One message is sent at a time: only the one at the kill may come twice.
    assert len(doubled) <= 1 and all(got[t] == 2 for t in doubled), got
