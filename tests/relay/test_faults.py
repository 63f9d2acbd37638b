"""The relay against an upstream that fails: down for a while, putting off (4xx),
refusing for good (5xx), or putting off for longer than `--relay-max-age`; each
message reaches it once, or is dropped on record, and is never retried after a 5xx."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from tests.relay.upstream import (
    ScriptedHandler,
    Upstream,
    queue_json,
    relaying,
    send,
    tokened,
    tokens_of,
    wait_until,
)
from tests.support.mailboxes import messages
from tests.support.ports import free_port

DEFERRED = "451 4.3.0 try again later"
REFUSED = "550 5.7.1 not welcome here"
OUTAGE = 10.0
"""Seconds the upstream is down after the message arrives (as the issue puts it)."""


@pytest.mark.slow
def test_an_upstream_down_when_the_message_arrives_gets_it_once_when_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    with relaying(tmp_path / "mail", port) as server:
        arrived = time.monotonic()
        send(server, ["a@out.test"], tokened("token-outage-1"))
        server.wait_for_log(r"relay of \S+ \(\S+\) to <a@out.test> deferred")
        [waiting] = queue_json(server.store)
        assert "cannot connect" in waiting["last_error"] or "refused" in waiting["last_error"]
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - arrived)))  # the outage itself
        with Upstream(port=port) as upstream:
            # Retries after 1, 2, 4, 8, 16 s: the one after the outage is at most 16 s away.
            wait_until(lambda: upstream.messages, timeout=40, what="the message")
            wait_until(lambda: queue_json(server.store) == [], what="an empty queue")
            send(server, ["marker@out.test"], tokened("token-marker-2"))
            wait_until(lambda: len(upstream.messages) >= 2, what="the marker")
    assert tokens_of(upstream.messages) == [b"token-outage-1", b"token-marker-2"]


@pytest.mark.parametrize("stage", ["DATA", "RCPT"])
def test_a_451_is_retried_until_the_upstream_takes_it_once(tmp_path: Path, stage: str) -> None:
    # The third try's DATA is held until the test has read the queue: it sees the entry
    # as it is between the tries however slow `postier queue` is on a loaded machine.
    handler = ScriptedHandler(hold=threading.Event())
    script = handler.data_script if stage == "DATA" else handler.rcpt_script
    script += [DEFERRED, DEFERRED]
    with Upstream(handler) as upstream, relaying(tmp_path / "mail", upstream.port) as server:
        send(server, ["a@out.test"], tokened("token-retried-1"))
        server.wait_for_log(r"to <a@out.test> deferred \(try 2,", timeout=20)
        [waiting] = queue_json(server.store)
        assert handler.hold is not None
        handler.hold.set()
        wait_until(lambda: upstream.messages, timeout=20, what="the message")
        wait_until(lambda: queue_json(server.store) == [], what="an empty queue")
        log = server.log_text()
    assert tokens_of(upstream.messages) == [b"token-retried-1"]
    assert waiting["recipients"] == ["a@out.test"] and waiting["attempts"] == 2, waiting
    assert DEFERRED in waiting["last_error"], waiting
    assert len(handler.data_seen) == (3 if stage == "DATA" else 1)
    assert log.count("deferred (try") == 2
    assert queue_json(server.store, "--dropped") == []


@pytest.mark.parametrize(
    ("stage", "recipients", "delivered"),
    [("DATA", ["a@out.test"], []), ("RCPT", ["a@out.test", "b@out.test"], ["b@out.test"])],
    ids=["at-data", "at-rcpt"],
)
def test_a_550_drops_the_recipient_on_record_and_is_never_retried(
    tmp_path: Path, stage: str, recipients: list[str], delivered: list[str]
) -> None:
    handler = ScriptedHandler()
    (handler.data_script if stage == "DATA" else handler.rcpt_script).append(REFUSED)
    with Upstream(handler) as upstream, relaying(tmp_path / "mail", upstream.port) as server:
        send(server, recipients, tokened("token-refused-1"))
        dropped = r"relay of \S+ \(\S+\) from <me@here.test> to <a@out.test> dropped: (.*)"
        [said] = re.findall(dropped, server.wait_for_log(dropped))
        assert REFUSED in said
        wait_until(lambda: queue_json(server.store) == [], what="an empty queue")
        # A message sent after it arrives after any retry of it would have.
        send(server, ["marker@out.test"], tokened("token-marker-2"))
        wait_until(lambda: b"token-marker-2" in tokens_of(upstream.messages), what="the marker")
        [record] = queue_json(server.store, "--dropped")
        lines = (server.store / ".postier" / "outbound" / "dropped.jsonl").read_bytes()
        [stored] = messages(server.store, "a@out.test", "mbox")
    assert record["recipient"] == "a@out.test" and record["sender"] == "me@here.test"
    assert REFUSED in record["reply"]
    assert [json.loads(line) for line in lines.splitlines()] == [record]
    assert b"token-refused-1" in stored  # the local copy stays
    assert [m.recipients for m in upstream.messages] == ([delivered] if delivered else []) + [
        ["marker@out.test"]
    ]
    refused_tries = [c for c in handler.data_seen if b"token-refused-1" in c]
    assert len(refused_tries) == 1  # once, never again


def test_a_message_put_off_longer_than_the_max_age_is_dropped(tmp_path: Path) -> None:
    handler = ScriptedHandler(data_forever=DEFERRED)
    with (
        Upstream(handler) as upstream,
        relaying(tmp_path / "mail", upstream.port, "--relay-max-age", "2") as server,
    ):
        send(server, ["a@out.test"], tokened("token-old-1"))
        server.wait_for_log(r"to <a@out.test> dropped: given up after \d+ tries", timeout=20)
        assert queue_json(server.store) == []
        [record] = queue_json(server.store, "--dropped")
    assert record["recipient"] == "a@out.test"
    assert record["reply"].startswith("given up after") and DEFERRED in record["reply"]
    assert upstream.messages == []
    assert len(handler.data_seen) >= 2  # tried, put off, tried again, then given up
