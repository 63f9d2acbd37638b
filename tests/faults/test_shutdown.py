"""SIGTERM / Ctrl-C: the message under way finishes, everyone hears 421, nothing half-written."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import maildir_messages, mbox_messages, settled_journals, split_trace
from tests.support.smtp import connect


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_stop_lets_the_message_under_way_finish(
    start_server: StartServer, fmt: str, signum: int
) -> None:
    server = start_server("--format", fmt)
    with (
        connect(server.address) as writer,
        connect(server.address) as idle,
        connect(server.address) as in_transaction,
    ):
        assert writer.command("MAIL FROM:<a@test.com>").code == 250
        assert writer.command("RCPT TO:<b@test.com>").code == 250
        assert writer.command("DATA").code == 354
        writer.send(b"Subject: under way\r\n\r\nfirst half\r\n")
        assert in_transaction.command("MAIL FROM:<a@test.com>").code == 250
        assert in_transaction.command("RCPT TO:<c@test.com>").code == 250

        server.signal(signum)
        server.wait_for_log("shutting down")

        # Idle clients, and clients between commands, hear 421 at once and are closed.
        for client in (idle, in_transaction):
            bye = client.reply(timeout=5)
            assert (bye.code, bye.enhanced) == (421, "4.3.2"), bye
            assert client.closed_by_server(5)
        # No new client is taken on.
        with pytest.raises(OSError):
            socket.create_connection(server.address, timeout=2).close()

        # The message under way may finish: 250, then 421.
        writer.send(b"second half\r\n.\r\n")
        stored = writer.reply(timeout=10)
        assert stored.code == 250, stored
        bye = writer.reply(timeout=5)
        assert (bye.code, bye.enhanced) == (421, "4.3.2"), bye
        assert writer.closed_by_server(5)

    assert server.wait(20) == 0
    assert "stopped" in server.log_text()
    assert settled_journals(server.store) == []
    read = mbox_messages if fmt == "mbox" else maildir_messages
    (message,) = read(server.store, "b@test.com")
    assert split_trace(message)[1] == b"Subject: under way\n\nfirst half\nsecond half\n"
    assert read(server.store, "c@test.com") == []
    if fmt == "maildir":
        assert list((server.store / "b@test.com" / "tmp").iterdir()) == []


def test_stop_with_no_client_exits_0_at_once(start_server: StartServer) -> None:
    server = start_server()
    began = time.monotonic()
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0
    assert time.monotonic() - began < 5
    assert settled_journals(server.store) == []


def test_stop_while_a_burst_is_being_stored(start_server: StartServer) -> None:
    """A message whose end of data has arrived is always answered, never cut."""
    server = start_server()
    burst = b"".join(
        b"MAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\nDATA\r\n"
        + f"Subject: {n}\r\n\r\n".encode()
        + b"x" * 70_000
        + b"\r\n.\r\n"
        for n in range(5)
    )
    # 70 kB lines are refused, so make them proper lines.
    burst = burst.replace(b"x" * 70_000, (b"x" * 69 + b"\r\n") * 1000)
    with connect(server.address) as client:
        client.send(burst)
        first = client.replies(4)
        assert [r.code for r in first] == [250, 250, 354, 250]
        server.signal(signal.SIGTERM)
        answered = 1
        while True:
            reply = client.reply(timeout=10)
            if reply.code == 421:
                break
            if reply.code == 250 and reply.text.startswith("2.0.0 Ok: stored"):
                answered += 1
        # Closing with pipelined input still unread may end in a reset (TCP's way).
        try:
            rest = client.read_until_closed(5)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", rest
    assert server.wait(20) == 0
    # Every message the client heard 250 for is there, and nothing else.
    assert len(mbox_messages(server.store, "b@test.com")) == answered
    assert settled_journals(server.store) == []
