"""--timeout is a deadline per whole line: idle and dripping clients are cut alike, with 421."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, connect

TIMEOUT = 1.5
DRIP = 0.4
"""Seconds between two bytes from a slow client: every read is on time, no line is."""


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    return start_server("--timeout", str(TIMEOUT))


def assert_cut(client: RawClient, since: float) -> float:
    """The client gets 421 4.4.2 and the close, about TIMEOUT seconds after `since`."""
    reply = client.reply(timeout=TIMEOUT + 5)
    elapsed = time.monotonic() - since
    assert (reply.code, reply.enhanced) == (421, "4.4.2"), reply
    assert client.closed_by_server(5)
    assert TIMEOUT - 0.1 <= elapsed <= TIMEOUT + 1.5, elapsed
    return elapsed


def in_data(client: RawClient) -> None:
    assert client.command("MAIL FROM:<a@test.com>").code == 250
    assert client.command("RCPT TO:<b@test.com>").code == 250
    assert client.command("DATA").code == 354


def test_idle_client_is_cut(server: ServerProcess) -> None:
    with RawClient(server.address) as client:
        assert client.reply().code == 220
        assert_cut(client, time.monotonic())


@pytest.mark.parametrize(
    ("setup", "drip"),
    [
        pytest.param(lambda c: None, b"EHLO dripping.client.test\r\n", id="command"),
        pytest.param(in_data, b"Subject: slow\r\n\r\nslow body\r\n.\r\n", id="data"),
    ],
)
def test_dripping_client_is_cut_like_an_idle_one(
    server: ServerProcess, setup: Callable[[RawClient], None], drip: bytes
) -> None:
    with connect(server.address) as client:
        setup(client)
        since = time.monotonic()
        finished = client.drip(drip, DRIP)
        assert not finished, "a line took longer than the timeout and was not cut"
        assert_cut(client, since)
    assert mbox_messages(server.store, "b@test.com") == []


def test_idle_inside_data_stores_nothing(server: ServerProcess) -> None:
    with connect(server.address) as client:
        # A first message goes through; the second is cut half-way.
        in_data(client)
        client.send(b"Subject: first\r\n\r\n.\r\n")
        assert client.reply().code == 250
        in_data(client)
        client.send(b"Subject: second\r\n\r\nhalf of it\r\n")
        assert_cut(client, time.monotonic())
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert b"Subject: first" in stored
    assert "timeout" in server.log_text()


@pytest.mark.slow
def test_a_client_sending_lines_in_time_is_never_cut(server: ServerProcess) -> None:
    with connect(server.address) as client:
        in_data(client)
        ends = time.monotonic() + 2 * TIMEOUT
        lines = 0
        while time.monotonic() < ends:
            client.send(b"a line well within the deadline\r\n")
            lines += 1
            assert not client.pending(TIMEOUT / 3)
        client.send(b".\r\n")
        assert client.reply().code == 250
        for _ in range(2):
            time.sleep(TIMEOUT * 0.7)
            assert client.command("NOOP").code == 250
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert stored.count(b"a line well within the deadline\n") == lines


def test_other_clients_are_served_while_one_drips(server: ServerProcess) -> None:
    with connect(server.address) as slow:
        slow.send(b"NO")
        for _ in range(3):
            with connect(server.address) as other:
                assert other.command("NOOP").code == 250
        slow.send(b"OP\r\n")
        assert slow.reply().code == 250
