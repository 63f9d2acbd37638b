"""The wire, byte for byte: pipelining, bare LF from `nc`, SMTP smuggling, split input."""

from __future__ import annotations

import pytest

from tests.support.mailboxes import mbox_messages, split_trace, tree
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, connect


def test_greeting_and_ehlo_keywords(server: ServerProcess) -> None:
    with RawClient(server.address) as client:
        greeting = client.reply()
        assert greeting.code == 220 and greeting.text.startswith("mx.test ")
        ehlo = client.command("EHLO client.test")
        assert ehlo.code == 250
        assert ehlo.lines[0].startswith("mx.test")
        keywords = set(ehlo.lines[1:])
        assert {"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"} <= keywords
        assert "SIZE 33554432" in keywords
        assert "STARTTLS" not in keywords  # no certificate configured
        quit_ = client.command("QUIT")
        assert quit_.code == 221 and quit_.enhanced == "2.0.0"
        assert client.closed_by_server(5)


def test_mail_before_helo_is_out_of_sequence(server: ServerProcess) -> None:
    with connect(server.address, ehlo=None) as client:
        reply = client.command("MAIL FROM:<a@test.com>")
        assert reply.code == 503


def test_a_whole_transaction_in_one_write_gets_its_replies_in_order(
    server: ServerProcess,
) -> None:
    burst = (
        b"MAIL FROM:<a@test.com>\r\n"
        b"RCPT TO:<b@test.com>\r\n"
        b"RCPT TO:<not an address>\r\n"
        b"RCPT TO:<c@test.com>\r\n"
        b"DATA\r\n"
        b"Subject: burst\r\n\r\nline 1\r\n..dot\r\n.\r\n"
        b"NOOP\r\n"
        b"MAIL FROM:<a@test.com>\r\n"
        b"DATA\r\n"
        b"RSET\r\n"
        b"VRFY x\r\n"
        b"MAIL FROM:<a@test.com>\r\n"
        b"RCPT TO:<b@test.com>\r\n"
        b"DATA\r\n"
        b"Subject: second\r\n\r\n.\r\n"
        b"QUIT\r\n"
    )
    with connect(server.address) as client:
        client.send(burst)
        got = [(r.code, r.enhanced) for r in client.replies(16)]
        assert client.closed_by_server(5)
    assert got == [
        (250, "2.1.0"),
        (250, "2.1.5"),
        (501, "5.1.3"),
        (250, "2.1.5"),
        (354, None),
        (250, "2.0.0"),  # the message
        (250, "2.0.0"),  # NOOP
        (250, "2.1.0"),
        (503, "5.5.1"),  # DATA before RCPT
        (250, "2.0.0"),  # RSET
        (252, "2.0.0"),
        (250, "2.1.0"),
        (250, "2.1.5"),
        (354, None),
        (250, "2.0.0"),
        (221, "2.0.0"),
    ]
    bodies = [split_trace(m)[1] for m in mbox_messages(server.store, "b@test.com")]
    assert bodies == [b"Subject: burst\n\nline 1\n.dot\n", b"Subject: second\n\n"]
    assert len(mbox_messages(server.store, "c@test.com")) == 1


def test_pipelined_transactions_are_stored_in_order(server: ServerProcess) -> None:
    burst = b"".join(
        b"MAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\nDATA\r\n"
        + f"Subject: {n}\r\n\r\nmessage {n}\r\n.\r\n".encode()
        for n in range(10)
    )
    with connect(server.address) as client:
        client.send(burst + b"QUIT\r\n")
        replies = client.replies(41)
    assert [r.code for r in replies] == [250, 250, 354, 250] * 10 + [221]
    bodies = [split_trace(m)[1] for m in mbox_messages(server.store, "b@test.com")]
    assert bodies == [f"Subject: {n}\n\nmessage {n}\n".encode() for n in range(10)]


def test_a_session_sent_one_byte_at_a_time(server: ServerProcess) -> None:
    session = (
        b"EHLO slow.client\r\nMAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\nDATA\r\n"
        b"Subject: bytes\r\n\r\n.hidden\r\n..two\r\nend\r\n.\r\nQUIT\r\n"
    )
    with RawClient(server.address) as client:
        assert client.reply().code == 220
        for byte in session:
            client.send(bytes([byte]))
        codes = [client.reply().code for _ in range(6)]
    assert codes == [250, 250, 250, 354, 250, 221]
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert split_trace(stored)[1] == b"Subject: bytes\n\nhidden\n.two\nend\n"


def test_bare_lf_commands_work_and_354_says_how_to_end(server: ServerProcess) -> None:
    # What a learner typing into `nc` (without -C) sends.
    with RawClient(server.address) as client:
        assert client.reply().code == 220
        assert client.command("EHLO nc.client", ending=b"\n").code == 250
        assert client.command("mail from:<a@test.com>", ending=b"\n").code == 250
        assert client.command("rcpt to:<b@test.com>", ending=b"\n").code == 250
        start = client.command("DATA", ending=b"\n")
        assert start.code == 354
        assert "nc -C" in start.text and "<CR><LF>.<CR><LF>" in start.text
        # A "." ended by a bare LF is not the end of the data...
        client.send(b"Subject: typed\nhello\n.\n")
        assert not client.pending(0.5)
        # ...a proper <CRLF>.<CRLF> is.
        client.send(b"\r\n.\r\n")
        done = client.reply()
        assert done.code == 250, done
        assert client.command("QUIT", ending=b"\n").code == 221
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert split_trace(stored)[1] == b"Subject: typed\nhello\n.\n\n"


def test_crlf_client_gets_the_plain_354(server: ServerProcess) -> None:
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<b@test.com>")
        start = client.command("DATA")
        assert start.code == 354 and "nc -C" not in start.text


SMUGGLED_ENDS = [
    pytest.param(b"\n.\n", id="LF.LF"),
    pytest.param(b"\r\n.\n", id="CRLF.LF"),
    pytest.param(b"\n.\r\n", id="LF.CRLF"),
    pytest.param(b"\r.\r", id="CR.CR"),
    pytest.param(b"\r.\r\n", id="CR.CRLF"),
    pytest.param(b"\r\n.\r", id="CRLF.CR"),
]


@pytest.mark.parametrize("fake_end", SMUGGLED_ENDS)
def test_smtp_smuggling_never_stores_a_second_message(
    server: ServerProcess, fake_end: bytes
) -> None:
    smuggled = (
        b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\n"
        b"Subject: smuggled\r\n\r\nsmuggled body\r\n"
    )
    data = b"Subject: outer\r\n\r\nouter body" + fake_end + smuggled + b".\r\n"
    before = tree(server.store.parent)
    with connect(server.address) as client:
        assert client.command("MAIL FROM:<a@test.com>").code == 250
        assert client.command("RCPT TO:<b@test.com>").code == 250
        assert client.command("DATA").code == 354
        client.send(data)
        end = client.reply()
        # One reply to the whole: stored as one message, or refused as one.
        assert end.code == 250 or 500 <= end.code < 600, end
        assert client.command("NOOP").code == 250, "the smuggled commands were executed"
        assert not client.pending(0.3)
        assert client.command("QUIT").code == 221
    stored = mbox_messages(server.store, "b@test.com")
    assert len(stored) == (1 if end.code == 250 else 0)
    if stored:
        assert b"MAIL FROM:<evil@x.test>" in stored[0]
    assert not (server.store / "victim@y.test.mbox").exists()
    new = tree(server.store.parent) - before
    assert all("victim" not in path for path in new), new


def test_end_of_data_right_after_data_command(server: ServerProcess) -> None:
    with connect(server.address) as client:
        client.send(b"MAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\nDATA\r\n.\r\n")
        assert [r.code for r in client.replies(4)] == [250, 250, 354, 250]
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert split_trace(stored)[1] == b""


def test_client_closing_mid_data_stores_nothing(server: ServerProcess) -> None:
    with connect(server.address) as client:
        client.send(b"MAIL FROM:<a@test.com>\r\nRCPT TO:<b@test.com>\r\nDATA\r\n")
        assert [r.code for r in client.replies(3)] == [250, 250, 354]
        client.send(b"Subject: cut\r\n\r\nhalf a mess")
    with connect(server.address) as client:  # the server is still there
        assert client.command("NOOP").code == 250
    assert mbox_messages(server.store, "b@test.com") == []
