"""Python's smtplib against a live server; the store read back with the `mailbox` module."""

from __future__ import annotations

import re
import smtplib
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import (
    maildir_messages,
    mbox_from_lines,
    mbox_messages,
    mbox_path,
    messages,
    split_trace,
)
from tests.support.server import ServerProcess

RECEIVED = re.compile(
    r"from (?P<helo>\S+) \(unknown \[127\.0\.0\.1\]\) by mx\.test \(postier\)"
    r" with (?P<with>[A-Z0-9]+) id (?P<id>[A-Z0-9]+) for <(?P<for>[^>]+)>; (?P<date>.+)"
)


def smtp(server: ServerProcess) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=10)


@pytest.fixture(params=["mbox", "maildir"])
def any_server(request: pytest.FixtureRequest, start_server: StartServer) -> ServerProcess:
    return start_server("--format", request.param)


def fmt_of(server: ServerProcess) -> str:
    return "maildir" if "maildir" in server.args else "mbox"


def test_the_users_first_message_lands_in_the_recipients_mbox(server: ServerProcess) -> None:
    # The command of the "What a user does" (which never says QUIT).
    client = smtplib.SMTP(server.host, server.port, timeout=10)
    try:
        refused = client.sendmail(
            "a@test.com", ["destinataire@exemple.fr"], "Subject: hi\r\n\r\nhello\r\n"
        )
    finally:
        client.close()
    assert refused == {}
    path = server.store / "destinataire@exemple.fr.mbox"
    assert path.is_file()
    raw = path.read_bytes()
    assert raw.startswith(b"From a@test.com ")
    assert raw.endswith(b"Subject: hi\n\nhello\n\n")
    (stored,) = mbox_messages(server.store, "destinataire@exemple.fr")
    trace, message = split_trace(stored)
    assert message == b"Subject: hi\n\nhello\n"
    assert trace["Return-Path"] == "<a@test.com>"
    assert trace["Delivered-To"] == "destinataire@exemple.fr"


def test_trace_headers_come_first_and_say_who_sent_what(server: ServerProcess) -> None:
    with smtp(server) as client:
        client.sendmail("Sender@Test.com", ["b@test.com"], "Subject: trace\r\n\r\nbody\r\n")
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, message = split_trace(stored)
    assert trace["Return-Path"] == "<Sender@Test.com>"
    assert trace["Delivered-To"] == "b@test.com"
    received = RECEIVED.fullmatch(trace["Received"])
    assert received is not None, trace["Received"]
    assert received["helo"] == "client.test"
    assert received["with"] == "ESMTP"
    assert received["for"] == "b@test.com"
    assert parsedate_to_datetime(received["date"]).tzinfo is not None
    assert message == b"Subject: trace\n\nbody\n"
    (from_line,) = mbox_from_lines(server.store, "b@test.com")
    assert re.fullmatch(r"Sender@Test\.com \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", from_line)


def test_helo_client_gets_with_smtp_and_null_sender_is_mailer_daemon(
    server: ServerProcess,
) -> None:
    with smtp(server) as client:
        assert client.helo("old.client")[0] == 250
        client.sendmail("<>", ["b@test.com"], "Subject: bounce\r\n\r\nx\r\n")
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, _ = split_trace(stored)
    assert trace["Return-Path"] == "<>"
    received = RECEIVED.fullmatch(trace["Received"])
    assert received is not None and received["with"] == "SMTP"
    assert received["helo"] == "old.client"
    assert mbox_from_lines(server.store, "b@test.com")[0].startswith("MAILER-DAEMON ")


def test_several_transactions_in_one_session(any_server: ServerProcess) -> None:
    fmt = fmt_of(any_server)
    with smtp(any_server) as client:
        for n in range(5):
            client.sendmail("a@test.com", ["b@test.com"], f"Subject: n{n}\r\n\r\nbody {n}\r\n")
        # A transaction abandoned half-way leaves nothing behind.
        client.mail("a@test.com")
        client.rcpt("b@test.com")
        assert client.rset()[0] == 250
        client.sendmail("a@test.com", ["b@test.com", "c@test.com"], "Subject: two\r\n\r\n2\r\n")
        assert client.noop()[0] == 250
    bodies = [split_trace(m)[1] for m in messages(any_server.store, "b@test.com", fmt)]
    expected = [f"Subject: n{n}\n\nbody {n}\n".encode() for n in range(5)]
    expected.append(b"Subject: two\n\n2\n")
    if fmt == "maildir":  # a Maildir has no order: compare the sets
        bodies.sort()
        expected.sort()
    assert bodies == expected
    (copy,) = messages(any_server.store, "c@test.com", fmt)
    assert split_trace(copy)[0]["Delivered-To"] == "c@test.com"


def test_one_copy_per_mailbox_even_when_named_twice(any_server: ServerProcess) -> None:
    fmt = fmt_of(any_server)
    with smtp(any_server) as client:
        client.sendmail(
            "a@test.com", ["Dup@Test.com", "dup@test.com", "DUP@TEST.COM"], "Subject: d\r\n\r\n"
        )
    assert len(messages(any_server.store, "dup@test.com", fmt)) == 1


def test_postmaster_without_domain_is_accepted(server: ServerProcess) -> None:
    with smtp(server) as client:
        client.sendmail("a@test.com", ["Postmaster"], "Subject: pm\r\n\r\nhi\r\n")
    assert len(mbox_messages(server.store, "postmaster")) == 1


def test_smtputf8_addresses_round_trip(any_server: ServerProcess) -> None:
    fmt = fmt_of(any_server)
    sender, recipient = "expéditeur@exemple.fr", "Délia@exemple.fr"
    message = "Subject: café\r\nFrom: Élise <expéditeur@exemple.fr>\r\n\r\nœuvre\r\n".encode()
    with smtp(any_server) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        refused = client.sendmail(sender, [recipient], message, mail_options=["SMTPUTF8"])
    assert refused == {}
    # The mailbox keeps its Unicode letters, in lower case.
    entry = "délia@exemple.fr" + (".mbox" if fmt == "mbox" else "")
    assert (any_server.store / entry).exists(), sorted(p.name for p in any_server.store.iterdir())
    (stored,) = messages(any_server.store, "délia@exemple.fr", fmt)
    trace, body = split_trace(stored)
    assert trace["Return-Path"] == f"<{sender}>"
    assert trace["Delivered-To"] == recipient
    received = RECEIVED.fullmatch(trace["Received"])
    assert received is not None and received["with"] == "UTF8SMTP"
    assert body == message.replace(b"\r\n", b"\n")


def test_non_ascii_recipient_without_smtputf8_is_refused(server: ServerProcess) -> None:
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@test.com")
        client.command_encoding = "utf-8"
        code, text = client.rcpt("délia@exemple.fr")
        assert code == 553, text
        assert text.startswith(b"5.6.7")
    assert not list(server.store.glob("*.mbox"))


def eight_bit_message() -> bytes:
    """Headers, then every byte value but CR and LF, in CRLF-ended lines."""
    values = bytes(b for b in range(256) if b not in (0x0A, 0x0D))
    lines = [values[i : i + 61] for i in range(0, len(values), 61)]
    body = b"\r\n".join(line.lstrip(b".") for line in lines) + b"\r\n"
    return b"Subject: 8bit\r\nContent-Type: application/octet-stream\r\n\r\n" + body


def test_8bit_body_preserved_byte_for_byte(any_server: ServerProcess) -> None:
    fmt = fmt_of(any_server)
    message = eight_bit_message()
    with smtp(any_server) as client:
        client.ehlo()
        assert client.has_extn("8bitmime")
        client.sendmail("a@test.com", ["b@test.com"], message, mail_options=["BODY=8BITMIME"])
    (stored,) = messages(any_server.store, "b@test.com", fmt)
    assert split_trace(stored)[1] == message.replace(b"\r\n", b"\n")


DOTS_AND_FROMS = (
    b"Subject: dots\r\n\r\n.\r\n..x\r\nFrom me\r\n>From you\r\n..\r\n .\r\n.\r\nend\r\n"
)


def test_dot_lines_and_from_lines_round_trip(any_server: ServerProcess) -> None:
    # smtplib stuffs the dots; the server must unstuff, and the mbox quote `From `.
    fmt = fmt_of(any_server)
    with smtp(any_server) as client:
        client.sendmail("a@test.com", ["b@test.com"], DOTS_AND_FROMS)
    (stored,) = messages(any_server.store, "b@test.com", fmt)
    assert split_trace(stored)[1] == DOTS_AND_FROMS.replace(b"\r\n", b"\n")
    if fmt == "mbox":
        raw = mbox_path(any_server.store, "b@test.com").read_bytes()
        # mboxrd on disk: each `^>*From ` line gets one more `>`; one message only.
        assert b"\n>From me\n>>From you\n" in raw
        assert raw.count(b"\nFrom ") == 0 and raw.startswith(b"From a@test.com ")


def test_message_without_final_newline_stays_one_message(server: ServerProcess) -> None:
    with smtp(server) as client:
        client.sendmail("a@test.com", ["b@test.com"], b"Subject: a\r\n\r\nno newline")
        client.sendmail("a@test.com", ["b@test.com"], b"Subject: b\r\n\r\nFrom here\r\n")
    first, second = mbox_messages(server.store, "b@test.com")
    assert split_trace(first)[1] == b"Subject: a\n\nno newline\n"
    assert split_trace(second)[1] == b"Subject: b\n\n>From here\n"


def test_maildir_copies_are_in_new_and_nothing_in_tmp(maildir_server: ServerProcess) -> None:
    with smtp(maildir_server) as client:
        for n in range(3):
            client.sendmail("a@test.com", ["b@test.com"], f"Subject: {n}\r\n\r\n{n}\r\n")
    box = maildir_server.store / "b@test.com"
    assert len(list((box / "new").iterdir())) == 3
    assert list((box / "tmp").iterdir()) == []
    assert len(maildir_messages(maildir_server.store, "b@test.com")) == 3
    assert not list(maildir_server.store.glob("*.mbox"))


def test_store_directory_is_created_when_missing(start_server: StartServer, tmp_path: Path) -> None:
    store = tmp_path / "deep" / "er" / "mail"
    server = start_server(store=store)
    with smtp(server) as client:
        client.sendmail("a@test.com", ["b@test.com"], "Subject: x\r\n\r\n")
    assert (store / "b@test.com.mbox").is_file()


def test_vrfy_help_and_unimplemented_commands(server: ServerProcess) -> None:
    with smtp(server) as client:
        client.ehlo()
        code, text = client.verify("b@test.com")
        assert code == 252 and text.startswith(b"2.")
        code, _ = client.docmd("HELP")
        assert code == 214
        code, text = client.docmd("EXPN", "list")
        assert code == 502 and text.startswith(b"5.5.1")
        code, text = client.docmd("FOO")
        assert code == 500 and text.startswith(b"5.5.")
        code, _ = client.docmd("DATA")
        assert code == 503
        code, _ = client.docmd("RCPT", "TO:<b@test.com>")
        assert code == 503
        code, text = client.docmd("mail", "from:<a@test.com>")  # case-insensitive
        assert code == 250 and text.startswith(b"2.1.0")
        code, _ = client.docmd("MAIL", "FROM:<a@test.com>")
        assert code == 503
        code, text = client.docmd("RCPT", "TO:<not an address>")
        assert code == 501 and text.startswith(b"5.1.3")
