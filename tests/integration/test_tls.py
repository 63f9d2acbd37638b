"""STARTTLS (RFC 3207) with a trustme certificate: smtplib, a raw client, plaintext injection."""

from __future__ import annotations

import re
import smtplib
import ssl

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, connect
from tests.support.tls import TlsFiles


@pytest.fixture
def tls_server(start_server: StartServer, tls_files: TlsFiles) -> ServerProcess:
    return start_server("--tls-cert", str(tls_files.pem))


def test_starttls_with_smtplib(tls_server: ServerProcess, tls_files: TlsFiles) -> None:
    with smtplib.SMTP(tls_server.host, tls_server.port, "client.test", timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        code, _ = client.starttls(context=tls_files.client_context())
        assert code == 220
        assert isinstance(client.sock, ssl.SSLSocket)
        code, _ = client.ehlo()
        assert code == 250
        # After the handshake the session starts over, and STARTTLS is not offered again.
        assert not client.has_extn("starttls")
        assert client.has_extn("pipelining")
        code, text = client.docmd("STARTTLS")
        assert code == 503, text
        client.sendmail("a@test.com", ["b@test.com"], "Subject: secret\r\n\r\nsecret\r\n")
    (stored,) = mbox_messages(tls_server.store, "b@test.com")
    trace, body = split_trace(stored)
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+\)", trace["Received"]), trace
    assert " with ESMTPS id " in trace["Received"]
    assert body == b"Subject: secret\n\nsecret\n"


def test_starttls_and_smtputf8_give_utf8smtps(
    tls_server: ServerProcess, tls_files: TlsFiles
) -> None:
    with smtplib.SMTP(tls_server.host, tls_server.port, "client.test", timeout=10) as client:
        client.starttls(context=tls_files.client_context())
        client.sendmail(
            "é@test.com", ["b@test.com"], b"Subject: u\r\n\r\n", mail_options=["SMTPUTF8"]
        )
    (stored,) = mbox_messages(tls_server.store, "b@test.com")
    assert " with UTF8SMTPS id " in split_trace(stored)[0]["Received"]


def test_mail_after_starttls_needs_a_new_ehlo(
    tls_server: ServerProcess, tls_files: TlsFiles
) -> None:
    with connect(tls_server.address) as client:
        assert client.command("STARTTLS").code == 220
        client.start_tls(tls_files.client_context(), "mx.test")
        reply = client.command("MAIL FROM:<a@test.com>")
        assert reply.code == 503 and reply.enhanced == "5.5.1"
        assert client.command("EHLO client.test").code == 250
        assert client.command("MAIL FROM:<a@test.com>").code == 250


def test_plaintext_pipelined_behind_starttls_is_never_executed(
    tls_server: ServerProcess, tls_files: TlsFiles
) -> None:
    """CVE-2021-38371 family: bytes sent in clear behind STARTTLS are discarded."""
    with connect(tls_server.address) as client:
        client.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<inject@x.test>\r\nRCPT TO:<victim@y.test>\r\n")
        ready = client.reply()
        assert ready.code == 220
        # Nothing more in clear: no answer to the injected commands before the handshake...
        assert not client.pending(0.5)
        client.start_tls(tls_files.client_context(), "mx.test")
        # ...nor after it: the first reply over TLS is the one to our EHLO.
        ehlo = client.command("EHLO client.test")
        assert ehlo.code == 250 and ehlo.lines[0].startswith("mx.test")
        noop = client.command("NOOP")
        assert (noop.code, noop.text) == (250, "2.0.0 Ok")
        # The injected MAIL did not open a transaction either.
        assert client.command("RCPT TO:<b@test.com>").code == 503
        assert not client.pending(0.3)
    assert not list(tls_server.store.glob("*.mbox"))


def test_starttls_refused_without_a_certificate(server: ServerProcess) -> None:
    with connect(server.address) as client:
        reply = client.command("STARTTLS")
        assert 500 <= reply.code < 600 and reply.code != 500, reply
        # The session goes on in clear.
        assert client.command("NOOP").code == 250
    with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPNotSupportedError):
            smtp.starttls()


def test_starttls_with_an_argument_is_501(tls_server: ServerProcess) -> None:
    with connect(tls_server.address) as client:
        reply = client.command("STARTTLS now")
        assert reply.code == 501
        assert client.command("NOOP").code == 250


def test_starttls_inside_a_transaction_is_refused(tls_server: ServerProcess) -> None:
    with connect(tls_server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        assert client.command("STARTTLS").code == 503


def test_failed_handshake_leaves_the_server_serving(
    tls_server: ServerProcess, tls_files: TlsFiles
) -> None:
    with connect(tls_server.address) as client:
        assert client.command("STARTTLS").code == 220
        client.send(b"this is not a TLS ClientHello\r\n" * 4)
        assert client.closed_by_server(10)
    with RawClient(tls_server.address) as other:
        assert other.reply().code == 220
    assert "Traceback" not in tls_server.log_text()
