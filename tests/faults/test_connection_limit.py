"""--max-connections: one client too many hears 421 and is closed; the others carry on."""

from __future__ import annotations

import time
from contextlib import ExitStack

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages
from tests.support.smtp import RawClient, connect


def refused(address: tuple[str, int]) -> bool:
    """True when a new client gets the 421 for too many connections, then the close."""
    with RawClient(address) as client:
        reply = client.reply()
        if reply.code == 220:
            return False
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), reply
        assert "too many connections" in reply.text
        assert client.closed_by_server(5)
        return True


def test_connection_limit_holds_and_frees_slots(start_server: StartServer) -> None:
    server = start_server("--max-connections", "3")
    with ExitStack() as stack:
        clients = [stack.enter_context(connect(server.address)) for _ in range(3)]
        assert refused(server.address)
        assert refused(server.address)
        # The three admitted keep working, a whole message included.
        for n, client in enumerate(clients):
            assert client.command("MAIL FROM:<a@test.com>").code == 250
            assert client.command("RCPT TO:<b@test.com>").code == 250
            assert client.command("DATA").code == 354
            client.send(f"Subject: {n}\r\n\r\n.\r\n".encode())
            assert client.reply().code == 250
        # A session that ends frees its slot.
        assert clients[0].command("QUIT").code == 221
        assert clients[0].closed_by_server(5)
        deadline = time.monotonic() + 5
        while True:
            with RawClient(server.address) as fourth:
                if fourth.reply().code == 220:
                    assert fourth.command("EHLO late.test").code == 250
                    assert refused(server.address)  # 3 again: full
                    break
            assert time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.05)
        # A client that just disconnects frees its slot too.
        clients[1].close()
        deadline = time.monotonic() + 5
        while refused(server.address):
            assert time.monotonic() < deadline, "the slot of a vanished client was never freed"
            time.sleep(0.05)
    assert len(mbox_messages(server.store, "b@test.com")) == 3
    assert "too many connections" in server.log_text()
