"""swaks (Debian package swaks), an independent SMTP client, against a live server."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles
from tests.support.tools import require_tool

pytestmark = pytest.mark.interop


def swaks(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        require_tool("swaks", "swaks"),
        "--server", server.host, "--port", str(server.port),
        "--helo", "swaks.client",
        "--from", "a@test.com", "--to", "b@test.com",
        "--timeout", "10",
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def assert_sent(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  250 2.0.0 Ok: stored as" in result.stdout or "<~  250 2.0.0" in result.stdout


def test_swaks_plain(server: ServerProcess) -> None:
    result = swaks(server, "--header", "Subject: from swaks", "--body", "hello from swaks")
    assert_sent(result)
    assert "<-  221 2.0.0" in result.stdout
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, message = split_trace(stored)
    assert " with ESMTP id " in trace["Received"] and "from swaks.client " in trace["Received"]
    assert b"Subject: from swaks\n" in message
    # swaks ends its body with blank lines of its own.
    assert message.rstrip(b"\n").endswith(b"\n\nhello from swaks")


def test_swaks_pipelining(server: ServerProcess) -> None:
    result = swaks(
        server, "--pipeline", "--to", "b@test.com,c@test.com", "--body", "pipelined body"
    )
    assert_sent(result)
    # swaks sends MAIL, RCPT, RCPT and DATA as one group.
    assert "MAIL FROM:<a@test.com>\n -> RCPT TO:<b@test.com>" in result.stdout
    for address in ("b@test.com", "c@test.com"):
        (stored,) = mbox_messages(server.store, address)
        assert stored.rstrip(b"\n").endswith(b"\n\npipelined body")


def test_swaks_bad_recipient_is_refused(server: ServerProcess) -> None:
    result = swaks(server, "--to", "not an address")
    assert result.returncode != 0
    assert "<** 501 5.1.3" in result.stdout
    assert not list(server.store.glob("*.mbox"))


def test_swaks_starttls_verified(start_server: StartServer, tls_files: TlsFiles) -> None:
    server = start_server("--tls-cert", str(tls_files.pem))
    result = swaks(
        server,
        "--tls",
        "--tls-verify",
        "--tls-ca-path", str(tls_files.ca_pem),
        "--tls-sni", "mx.test",
        "--body", "over TLS",
    )  # fmt: skip
    assert_sent(result)
    assert "TLS started" in result.stdout
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, message = split_trace(stored)
    assert " with ESMTPS id " in trace["Received"]
    assert "(using TLSv1." in trace["Received"]
    assert message.rstrip(b"\n").endswith(b"\n\nover TLS")


def test_swaks_starttls_refused_without_certificate(server: ServerProcess) -> None:
    result = swaks(server, "--tls")
    assert result.returncode != 0
    assert "did not advertise STARTTLS" in result.stderr
    assert not list(server.store.glob("*.mbox"))
