"""CHUNKING and BINARYMIME (RFC 3030) on a live server, over a raw socket.

The stores write LF line endings (each CRLF becomes LF, a lone CR stays): a Maildir
keeps everything else exactly, with no quoting, so the tests compare against
`data.replace(b"\\r\\n", b"\\n")`.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import maildir_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, Reply, connect

RECIPIENT = "b@test.com"


def maildir(start_server: StartServer, *args: str) -> ServerProcess:
    return start_server("--format", "maildir", *args)


def stored_bodies(server: ServerProcess) -> list[bytes]:
    """The messages delivered to RECIPIENT, without the trace headers the server adds."""
    return [split_trace(message)[1] for message in maildir_messages(server.store, RECIPIENT)]


def as_stored(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def open_transaction(client: RawClient, *mail_params: str) -> None:
    mail = " ".join(("MAIL FROM:<a@test.com>", *mail_params))
    assert client.command(mail).code == 250
    assert client.command(f"RCPT TO:<{RECIPIENT}>").code == 250


def bdat(size: int | str, data: bytes, *, last: bool = False) -> bytes:
    return f"BDAT {size}{' LAST' if last else ''}\r\n".encode() + data


def assert_stored_reply(reply: Reply) -> None:
    assert reply.code == 250 and reply.text.startswith("2.0.0 Ok: stored as"), reply


# --- accepted chunks -------------------------------------------------------------------


def test_one_chunk_last(start_server: StartServer) -> None:
    server = maildir(start_server)
    data = b"Subject: one chunk\r\n\r\nthe body\r\n"
    with connect(server.address, ehlo=None) as client:
        ehlo = client.command("EHLO client.test")
        assert "CHUNKING" in ehlo.lines and "BINARYMIME" in ehlo.lines, ehlo
        open_transaction(client)
        client.send(bdat(len(data), data, last=True))
        assert_stored_reply(client.reply())
        assert client.command("QUIT").code == 221
    assert stored_bodies(server) == [as_stored(data)]
    trace, _ = split_trace(maildir_messages(server.store, RECIPIENT)[0])
    assert " with ESMTP id " in trace["Received"]


def test_chunks_pipelined_in_one_write(start_server: StartServer) -> None:
    server = maildir(start_server)
    parts = [b"Subject: pipelined\r\n\r\n", b"first part, ", b"second\r\nthird\r\n"]
    with connect(server.address) as client:
        burst = b"MAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\n"
        burst += bdat(len(parts[0]), parts[0]) + bdat(len(parts[1]), parts[1])
        burst += bdat(len(parts[2]), parts[2], last=True) + b"NOOP\r\n"
        client.send(burst)
        mail, rcpt, first, second, last, noop = client.replies(6)
        assert (mail.code, rcpt.code) == (250, 250)
        assert (first.code, first.text) == (250, f"2.0.0 Ok: {len(parts[0])} octets received")
        assert (second.code, second.text) == (250, f"2.0.0 Ok: {len(parts[1])} octets received")
        assert_stored_reply(last)
        assert noop.code == 250
        # A zero-size LAST chunk ends a message too (RFC 3030 §2).
        open_transaction(client)
        client.send(bdat(5, b"Hi\r\n\r") + bdat(0, b"", last=True))
        assert client.reply().text == "2.0.0 Ok: 5 octets received"
        assert_stored_reply(client.reply())
    assert stored_bodies(server) == [as_stored(b"".join(parts)), b"Hi\n\r"]


@pytest.mark.slow
def test_twenty_mib_in_one_mib_chunks(start_server: StartServer) -> None:
    server = maildir(start_server, "--max-size", "32M")
    rng = random.Random(3030)
    line = bytes(rng.randrange(33, 127) for _ in range(998)) + b"\r\n"
    data = b"Subject: big\r\n\r\n" + line * (20 * 1024 * 1024 // len(line))
    data += b"x" * (20 * 1024 * 1024 - len(data))  # exactly 20 MiB, no line end
    chunk = 1024 * 1024
    with connect(server.address) as client:
        open_transaction(client)
        for offset in range(0, len(data), chunk):
            piece = data[offset : offset + chunk]
            client.send(bdat(len(piece), piece, last=offset + chunk >= len(data)))
        for _ in range(len(data) // chunk - 1):
            assert client.reply(60).text == f"2.0.0 Ok: {chunk} octets received"
        assert_stored_reply(client.reply(120))
    (body,) = stored_bodies(server)
    assert len(body) == len(as_stored(data))
    assert body == as_stored(data)
    assert f", {len(data)} bytes" in server.log_text()


def test_binary_chunk_is_stored_verbatim(start_server: StartServer) -> None:
    """A chunk is counted, never parsed: a dot line, commands, NULs are all data."""
    server = maildir(start_server)
    data = (
        b"Subject: binary\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + bytes(range(256))
        + b"\r\n.\r\nQUIT\r\nRSET\r\n.\r\n\x00\x00\xff\rlone CR\nbare LF\r\n"
    )
    with connect(server.address) as client:
        open_transaction(client, "BODY=BINARYMIME")
        client.send(bdat(len(data), data, last=True))
        assert_stored_reply(client.reply())
        # Nothing inside the chunk was taken as a command: the session is still open.
        assert not client.pending(0.3)
        assert client.command("NOOP").code == 250
    assert stored_bodies(server) == [as_stored(data)]


# --- refused chunks --------------------------------------------------------------------


def test_refused_bdat_before_mail_discards_its_octets(start_server: StartServer) -> None:
    server = maildir(start_server)
    smuggled = b"RSET\r\nQUIT\r\n"
    with connect(server.address) as client:
        client.send(bdat(len(smuggled), smuggled))
        reply = client.reply()
        assert (reply.code, reply.enhanced) == (503, "5.5.1"), reply
        # The octets were read and thrown away: no 250 for RSET, no 221 for QUIT.
        assert not client.pending(0.5), client.buffered
        assert client.command("NOOP").code == 250
        open_transaction(client)
        client.send(bdat(4, b"ok\r\n", last=True))
        assert_stored_reply(client.reply())
    assert stored_bodies(server) == [b"ok\n"]


def test_bdat_with_bad_syntax_discards_its_octets(start_server: StartServer) -> None:
    server = maildir(start_server)
    with connect(server.address) as client:
        open_transaction(client)
        client.send(bdat("12 NOTLAST", b"QUIT\r\nQUIT\r\n"))
        reply = client.reply()
        assert reply.code == 501, reply
        assert not client.pending(0.5), client.buffered
        # The transaction goes on; the refused chunk is not part of the message.
        client.send(bdat(6, b"kept\r\n", last=True))
        assert_stored_reply(client.reply())
    assert stored_bodies(server) == [b"kept\n"]


def test_bdat_with_an_unreadable_size_closes_with_554(start_server: StartServer) -> None:
    server = maildir(start_server)
    with connect(server.address) as client:
        open_transaction(client)
        reply = client.command("BDAT lots")
        assert reply.code == 554, reply
        assert client.closed_by_server(5)
    assert stored_bodies(server) == []
    with connect(server.address) as client:  # still serving
        assert client.command("NOOP").code == 250


def test_bdat_over_max_size_is_552_and_nothing_stored(start_server: StartServer) -> None:
    server = maildir(start_server, "--max-size", "10K")
    with connect(server.address) as client:
        open_transaction(client)
        client.send(bdat(6000, b"a" * 6000))
        assert client.reply().text == "2.0.0 Ok: 6000 octets received"
        client.send(bdat(6000, b"b" * 6000, last=True))
        reply = client.reply()
        assert (reply.code, reply.enhanced) == (552, "5.3.4"), reply
        # One chunk, too big at once; then the session goes on.
        open_transaction(client)
        client.send(bdat(20000, b"c" * 20000, last=True))
        reply = client.reply()
        assert (reply.code, reply.enhanced) == (552, "5.3.4"), reply
        assert client.command("NOOP").code == 250
        open_transaction(client)
        client.send(bdat(3, b"ok\n", last=True))
        assert_stored_reply(client.reply())
    assert stored_bodies(server) == [b"ok\n"]


def test_data_after_binarymime_or_bdat_is_503(start_server: StartServer) -> None:
    server = maildir(start_server)
    with connect(server.address) as client:
        open_transaction(client, "BODY=BINARYMIME")
        reply = client.command("DATA")
        assert (reply.code, reply.enhanced) == (503, "5.5.1"), reply
        assert client.command("RSET").code == 250
        open_transaction(client)
        client.send(bdat(3, b"abc"))
        assert client.reply().code == 250
        reply = client.command("DATA")
        assert reply.code == 503, reply
        client.send(bdat(3, b"def", last=True))
        assert_stored_reply(client.reply())
    assert stored_bodies(server) == [b"abcdef"]


# --- the per-line deadline inside a chunk ----------------------------------------------


def test_a_dripped_chunk_is_cut_by_the_timeout(start_server: StartServer) -> None:
    timeout = 1.5
    server = maildir(start_server, "--timeout", str(timeout))
    with connect(server.address) as client:
        open_transaction(client)
        # 1000 octets every 0.5 s: each 1000 octets count as a line, so this goes through
        # although the whole chunk takes longer than the timeout.
        client.send(b"BDAT 5000 LAST\r\n")
        for _ in range(5):
            time.sleep(timeout / 3)
            client.send(b"y" * 1000)
        assert_stored_reply(client.reply())
        # 100 octets every 0.4 s: the next 1000 would take 4 s, and the client is cut.
        open_transaction(client)
        client.send(b"BDAT 5000 LAST\r\n")
        start = time.monotonic()
        for _ in range(50):
            if client.pending(0.4):
                break
            client.send(b"z" * 100)
        elapsed = time.monotonic() - start
        reply = client.reply()
        assert (reply.code, reply.enhanced) == (421, "4.4.2"), reply
        assert timeout * 0.9 <= elapsed < timeout + 5, elapsed
        assert client.closed_by_server(5)
    assert stored_bodies(server) == [b"y" * 5000]
