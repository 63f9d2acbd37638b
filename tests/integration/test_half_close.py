"""A client that shuts its side down after its last command still hears every reply."""

from __future__ import annotations

import socket

from tests.support.mailboxes import mbox_messages
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient

SESSION = (
    b"EHLO client.test\r\n"
    b"MAIL FROM:<a@test.com>\r\n"
    b"RCPT TO:<b@test.com>\r\n"
    b"DATA\r\n"
    b"Subject: half-closed\r\n\r\n" + b"body line\r\n" * 400_000 + b".\r\n"
    # Large enough that storing it takes longer than the FIN takes to arrive.
    b"QUIT\r\n"
)


def test_replies_reach_a_client_that_shut_down_its_writing_side(server: ServerProcess) -> None:
    # What `printf ... | nc -N` does: the whole session, then FIN. The 250 is sent only
    # once the message is stored, after the FIN has arrived, and must still be sent.
    client = RawClient(server.address)
    try:
        client.reply()  # greeting
        client.send(SESSION)
        client.sock.shutdown(socket.SHUT_WR)
        replies = client.read_until_closed().decode()
    finally:
        client.close()
    assert "250 2.0.0 Ok: stored as " in replies
    assert replies.rstrip().splitlines()[-1].startswith("221 2.0.0")
    assert len(mbox_messages(server.store, "b@test.com")) == 1


def test_a_client_that_leaves_without_quit_is_closed_after_its_replies(
    server: ServerProcess,
) -> None:
    client = RawClient(server.address)
    try:
        client.reply()
        client.send(SESSION.removesuffix(b"QUIT\r\n"))
        client.sock.shutdown(socket.SHUT_WR)
        replies = client.read_until_closed().decode()
    finally:
        client.close()
    assert replies.rstrip().splitlines()[-1].startswith("250 2.0.0 Ok: stored as ")
    assert len(mbox_messages(server.store, "b@test.com")) == 1
