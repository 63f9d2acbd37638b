"""Limits on a live server: sizes, recipients, line lengths, errors, garbage."""

from __future__ import annotations

import random
import smtplib

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, connect


def test_size_parameter_over_the_limit_is_552_at_once(start_server: StartServer) -> None:
    server = start_server("--max-size", "10000")
    with connect(server.address) as client:
        ehlo = client.command("EHLO again.test")
        assert "SIZE 10000" in ehlo.lines
        over = client.command("MAIL FROM:<a@test.com> SIZE=10001")
        assert (over.code, over.enhanced) == (552, "5.3.4")
        # Nothing was opened: the session goes on with a message that fits.
        assert client.command("MAIL FROM:<a@test.com> SIZE=10000").code == 250
        assert client.command("RCPT TO:<b@test.com>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: fits\r\n\r\nsmall\r\n.\r\n")
        assert client.reply().code == 250
    assert len(mbox_messages(server.store, "b@test.com")) == 1


def test_data_over_the_limit_is_552_and_nothing_is_stored(start_server: StartServer) -> None:
    server = start_server("--max-size", "10000")
    line = b"x" * 98 + b"\r\n"
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<b@test.com>")
        assert client.command("DATA").code == 354
        client.send(b"Subject: big\r\n\r\n" + line * 200 + b".\r\n")  # about 20 kB
        refused = client.reply()
        assert (refused.code, refused.enhanced) == (552, "5.3.4")
        # The session goes on.
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<b@test.com>")
        assert client.command("DATA").code == 354
        client.send(b"Subject: small\r\n\r\n" + line * 10 + b".\r\n")
        assert client.reply().code == 250
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert b"Subject: small" in stored
    assert "refused message" in server.log_text()


def test_smtplib_sees_the_size_limit(start_server: StartServer) -> None:
    server = start_server("--max-size", "1K")
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("a@test.com", ["b@test.com"], "Subject: x\r\n\r\n" + "y" * 2000)
        assert refused.value.smtp_code == 552
    assert not (server.store / "b@test.com.mbox").exists()


def test_recipients_over_the_limit_get_452(start_server: StartServer) -> None:
    server = start_server("--max-recipients", "3")
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        for n in range(3):
            assert client.command(f"RCPT TO:<r{n}@test.com>").code == 250
        too_many = client.command("RCPT TO:<r3@test.com>")
        assert (too_many.code, too_many.enhanced) == (452, "4.5.3")
        assert client.command("DATA").code == 354
        client.send(b"Subject: three\r\n\r\n.\r\n")
        assert client.reply().code == 250
    for n in range(3):
        assert len(mbox_messages(server.store, f"r{n}@test.com")) == 1
    assert not (server.store / "r3@test.com.mbox").exists()


def test_long_command_lines_get_500_and_the_session_goes_on(server: ServerProcess) -> None:
    with connect(server.address) as client:
        # 512 octets with CRLF is the limit (RFC 5321 4.5.3.1.4).
        assert client.command("NOOP " + "x" * 505).code == 250
        long = client.command("NOOP " + "x" * 506)
        assert (long.code, long.enhanced) == (500, "5.5.2")
        # Much longer than any buffer, sent in pieces: still one 500, and no crash.
        client.send(b"HELP ")
        for _ in range(64):
            client.send(b"y" * 16384)
        huge = client.command(b"")
        assert (huge.code, huge.enhanced) == (500, "5.5.2")
        assert not client.pending(0.3)
        # MAIL with parameters may be longer than 512 (RFC 1869).
        mail = client.command("MAIL FROM:<a@test.com> BODY=8BITMIME" + " " * 600)
        assert mail.code == 250
        assert client.command("RCPT TO:<b@test.com>").code == 250


@pytest.mark.parametrize(
    ("text_octets", "stored"), [(998, True), (999, False), (5000, False), (200_000, False)]
)
def test_data_line_length(server: ServerProcess, text_octets: int, stored: bool) -> None:
    """998 characters + CRLF is the longest line (RFC 5321 4.5.3.1.6); longer: refused."""
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<b@test.com>")
        assert client.command("DATA").code == 354
        client.send(b"Subject: long\r\n\r\n" + b"z" * text_octets + b"\r\nafter\r\n.\r\n")
        end = client.reply()
        if stored:
            assert end.code == 250
        else:
            assert 500 <= end.code < 600 and end.enhanced is not None, end
        # Either way the session goes on.
        assert client.command("NOOP").code == 250
    found = mbox_messages(server.store, "b@test.com")
    if stored:
        (message,) = found
        assert split_trace(message)[1] == b"Subject: long\n\n" + b"z" * 998 + b"\nafter\n"
    else:
        assert found == []


def test_twenty_errors_close_the_session_with_421(server: ServerProcess) -> None:
    with connect(server.address) as client:
        codes = [client.command(f"BOGUS{n}").code for n in range(19)]
        assert codes == [500] * 19
        last = client.command("BOGUS19")
        assert last.code == 500
        closing = client.reply()
        assert (closing.code, closing.enhanced) == (421, "4.7.0")
        assert client.closed_by_server(5)


GARBAGE = [
    pytest.param(b"NOOP\x00\r\n", id="NUL"),
    pytest.param(b"EHLO \x00evil\r\n", id="NUL-in-argument"),
    pytest.param(b"MAIL FROM:<\xff\xfe@x.test>\r\n", id="invalid-UTF-8"),
    pytest.param(b"\xc3\x28\xa0\xa1\r\n", id="bad-UTF-8-line"),
    pytest.param(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n", id="TLS-hello-in-clear"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", id="HTTP"),
    pytest.param(b"\r\n", id="empty-line"),
    pytest.param(b"\x1b[2J\x07\x08\r\n", id="control-characters"),
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_gets_5xx_and_the_server_keeps_serving(
    server: ServerProcess, garbage: bytes
) -> None:
    with connect(server.address) as client:
        client.send(garbage)
        reply = client.reply()
        assert 500 <= reply.code < 600, reply
        assert reply.enhanced is not None
        while client.pending(0.2):
            client.reply()
        assert client.command("NOOP").code == 250
    with connect(server.address) as other:
        other.command("MAIL FROM:<a@test.com>")
        other.command("RCPT TO:<b@test.com>")
        other.command("DATA")
        other.send(b"Subject: still here\r\n\r\n.\r\n")
        assert other.reply().code == 250
    assert "Traceback" not in server.log_text()


def test_random_binary_garbage_never_crashes_the_server(server: ServerProcess) -> None:
    rng = random.Random(20251127)
    for _ in range(30):
        with RawClient(server.address) as client:
            assert client.reply().code == 220
            blob = rng.randbytes(rng.randrange(1, 20000))
            client.send(blob + b"\r\nQUIT\r\n")
            # Closed after QUIT or after too many errors; never left hanging.
            data = client.read_until_closed(10)
        lines = data.split(b"\r\n")
        assert lines[-1] == b""
        for line in lines[:-1]:
            assert line[:1] in (b"2", b"4", b"5") and line[3:4] in (b" ", b"-"), line
            if line[:1] in (b"4", b"5"):
                assert line[4:6] == line[:1] + b".", line  # an enhanced code, no traceback
    with connect(server.address) as client:
        assert client.command("NOOP").code == 250
    assert "Traceback" not in server.log_text()
    assert server.process is not None and server.process.poll() is None
