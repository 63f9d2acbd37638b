"""Implicit TLS (RFC 8314, the SMTPS port) on a live `postier serve --tls-port 0`."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import trustme

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient
from tests.support.tls import SERVER_NAMES, TlsFiles
from tests.support.tools import require_tool

_SMTPS = re.compile(r"implicit TLS \(SMTPS\) on (\S+?):(\d+)")
MESSAGE = "Subject: smtps\r\n\r\nover implicit TLS\r\n"


def tls_port(server: ServerProcess, timeout: float = 10.0) -> int:
    """The implicit-TLS port, read from the log line that announces it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = _SMTPS.search(server.log_text(since_start=True))
        if match:
            return int(match[2])
        time.sleep(0.05)
    pytest.fail(f"no 'implicit TLS (SMTPS) on' line in the log:\n{server.log_text()}")


def start_smtps(start_server: StartServer, pem: Path, *args: str) -> tuple[ServerProcess, int]:
    server = start_server("--tls-cert", str(pem), "--tls-port", "0", *args)
    return server, tls_port(server)


def smtps(server: ServerProcess, port: int, context: ssl.SSLContext) -> smtplib.SMTP_SSL:
    return smtplib.SMTP_SSL(server.host, port, "client.test", timeout=10, context=context)


def tls_client(
    server: ServerProcess, port: int, context: ssl.SSLContext, name: str = "mx.test"
) -> RawClient:
    """A raw client, TLS from the first byte."""
    client = RawClient((server.host, port))
    try:
        client.start_tls(context, name)
    except BaseException:
        client.close()
        raise
    return client


@pytest.fixture
def pem_copy(tmp_path: Path, tls_files: TlsFiles) -> Path:
    """A copy of the certificate file that the test may overwrite (tls_files is shared)."""
    copy = tmp_path / "server.pem"
    shutil.copyfile(tls_files.pem, copy)
    return copy


# --- the SMTPS port --------------------------------------------------------------------


def test_smtp_ssl_delivers_with_esmtps(start_server: StartServer, tls_files: TlsFiles) -> None:
    server, port = start_smtps(start_server, tls_files.pem)
    assert port != server.port
    with smtps(server, port, tls_files.client_context()) as client:
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        code, _ = client.ehlo()
        assert code == 250
        assert not client.has_extn("starttls"), "STARTTLS offered inside TLS"
        assert client.has_extn("chunking") and client.has_extn("pipelining")
        assert not client.has_extn("auth")  # no --auth
        client.sendmail("a@test.com", ["b@test.com"], MESSAGE)
        code, _ = client.docmd("STARTTLS")
        assert code == 503
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, body = split_trace(stored)
    assert " with ESMTPS id " in trace["Received"], trace
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+\)", trace["Received"]), trace
    assert body == b"Subject: smtps\n\nover implicit TLS\n"
    # The plain port still speaks in clear, with STARTTLS.
    with smtplib.SMTP(server.host, server.port, timeout=10) as plain:
        plain.ehlo()
        assert plain.has_extn("starttls")
    assert f"implicit TLS (SMTPS) on 127.0.0.1:{port}" in server.log_text()


def test_greeting_only_after_the_handshake(start_server: StartServer, tls_files: TlsFiles) -> None:
    server, port = start_smtps(start_server, tls_files.pem)
    with socket.create_connection((server.host, port), timeout=10) as raw:
        # The server waits for our ClientHello: not one byte in clear.
        readable, _, _ = select.select([raw], [], [], 1.0)
        assert not readable, f"the server spoke first in clear: {raw.recv(100)!r}"
        with tls_files.client_context().wrap_socket(raw, server_hostname="mx.test") as tls:
            greeting = tls.recv(1024)
            assert greeting.startswith(b"220 mx.test ESMTP"), greeting
            tls.sendall(b"QUIT\r\n")
            assert tls.recv(1024).startswith(b"221 ")


@pytest.mark.parametrize("attempt", range(3))
def test_plaintext_client_gets_nothing_in_clear(
    start_server: StartServer, tls_files: TlsFiles, attempt: int
) -> None:
    """A client that speaks SMTP in clear to the TLS port, at once, as the FIRST client
    of a fresh server: no greeting, no command executed in clear, the server goes on.

    Each attempt starts its own server: the first connection is the one at risk."""
    server, port = start_smtps(start_server, tls_files.pem, "--auth", "any", "--log-level", "debug")
    with socket.create_connection((server.host, port), timeout=10) as raw:
        raw.sendall(b"EHLO plain.client\r\nAUTH PLAIN AGJvYgBzM2NyZXQ=\r\nQUIT\r\n")
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            readable, _, _ = select.select([raw], [], [], deadline - time.monotonic())
            if not readable:
                break
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        else:
            pytest.fail(f"the TLS port did not close a plaintext client; got {received!r}")
    assert b"220" not in received and b"ESMTP" not in received and b"235" not in received, (
        f"the implicit-TLS port answered a plaintext client in clear: {received!r}"
    )
    log = server.log_text()
    assert "authenticated as" not in log, log
    # Still serving, on both ports.
    with smtps(server, port, tls_files.client_context()) as client:
        assert client.noop()[0] == 250
    with smtplib.SMTP(server.host, server.port, timeout=10) as plain:
        assert plain.noop()[0] == 250
    assert "Traceback" not in server.log_text()


def test_tls_1_1_is_refused(start_server: StartServer, tls_files: TlsFiles) -> None:
    server, port = start_smtps(start_server, tls_files.pem)
    # TLS 1.2 exactly is accepted.
    modern = tls_files.client_context()
    modern.maximum_version = ssl.TLSVersion.TLSv1_2
    with smtps(server, port, modern) as client:
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() == "TLSv1.2"
        assert client.noop()[0] == 250
    old = tls_files.client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1_1 itself is deprecated
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    # OpenSSL's default security level forbids TLS 1.1 on our side already; level 0 lets
    # this client really offer it, so that the refusal we see is the server's.
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError) as error:
        smtps(server, port, old).close()
    # The server's refusal (an alert, or the handshake dropped), not our own refusal to
    # offer 1.1 (NO_PROTOCOLS_AVAILABLE), nor a reply in clear (WRONG_VERSION_NUMBER).
    text = str(error.value)
    assert "NO_PROTOCOLS_AVAILABLE" not in text and "WRONG_VERSION_NUMBER" not in text, text
    with smtps(server, port, modern) as client:  # still serving
        assert client.noop()[0] == 250


def test_auth_offered_on_the_tls_port_without_auth_insecure(
    start_server: StartServer, tls_files: TlsFiles
) -> None:
    server, port = start_smtps(start_server, tls_files.pem, "--auth", "any")
    with smtps(server, port, tls_files.client_context()) as client:
        client.ehlo()
        assert client.has_extn("auth")
        client.login("erin", "erin-secret")
        client.sendmail("erin@test.com", ["b@test.com"], MESSAGE)
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, _ = split_trace(stored)
    assert " with ESMTPSA id " in trace["Received"], trace
    assert "(Authenticated sender: erin)" in trace["Received"]


# --- SIGHUP reloads the certificate ----------------------------------------------------


def der_of(server: ServerProcess, port: int, context: ssl.SSLContext) -> bytes:
    with tls_client(server, port, context) as client:
        assert client.reply().code == 220
        assert isinstance(client.sock, ssl.SSLSocket)
        der = client.sock.getpeercert(binary_form=True)
        assert der is not None
        client.command("QUIT")
    return der


def test_sighup_reloads_the_certificate(
    start_server: StartServer, tls_files: TlsFiles, pem_copy: Path
) -> None:
    server, port = start_smtps(start_server, pem_copy)
    old_der = der_of(server, port, tls_files.client_context())
    # A session opened before the reload, already past EHLO.
    before = smtps(server, port, tls_files.client_context())
    try:
        assert before.ehlo()[0] == 250
        new_ca = trustme.CA()
        new_ca.issue_cert(*SERVER_NAMES).private_key_and_cert_chain_pem.write_to_path(str(pem_copy))
        server.signal(signal.SIGHUP)
        server.wait_for_log(r"SIGHUP: certificate \S+ loaded")
        new_context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        new_ca.configure_trust(new_context)
        new_der = der_of(server, port, new_context)
        assert new_der != old_der
        # The old authority no longer vouches for what new connections see.
        with pytest.raises(ssl.SSLCertVerificationError):
            der_of(server, port, tls_files.client_context())
        # STARTTLS on the plain port uses the new certificate too.
        with RawClient(server.address) as plain:
            assert plain.reply().code == 220
            assert plain.command("EHLO client.test").code == 250
            assert plain.command("STARTTLS").code == 220
            plain.start_tls(new_context, "mx.test")
            assert isinstance(plain.sock, ssl.SSLSocket)
            assert plain.sock.getpeercert(binary_form=True) == new_der
        # The session opened before still delivers, with the certificate it started with.
        assert isinstance(before.sock, ssl.SSLSocket)
        assert before.sock.getpeercert(binary_form=True) == old_der
        before.sendmail("a@test.com", ["b@test.com"], MESSAGE)
        before.quit()
    finally:
        before.close()
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert " with ESMTPS id " in split_trace(stored)[0]["Received"]


def test_sighup_with_a_broken_certificate_keeps_the_old_one(
    start_server: StartServer, tls_files: TlsFiles, pem_copy: Path
) -> None:
    server, port = start_smtps(start_server, pem_copy)
    old_der = der_of(server, port, tls_files.client_context())
    pem_copy.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
    server.signal(signal.SIGHUP)
    log = server.wait_for_log(r"ERROR SIGHUP: .*keeping the certificate in use")
    assert "Traceback" not in log
    assert der_of(server, port, tls_files.client_context()) == old_der
    with smtps(server, port, tls_files.client_context()) as client:
        client.sendmail("a@test.com", ["b@test.com"], MESSAGE)
    assert len(mbox_messages(server.store, "b@test.com")) == 1
    # A missing file is the same.
    pem_copy.unlink()
    server.signal(signal.SIGHUP)
    server.wait_for_log(r"ERROR SIGHUP: .*keeping the certificate in use", count=2)
    assert der_of(server, port, tls_files.client_context()) == old_der


# --- the command line ------------------------------------------------------------------


def test_tls_port_needs_a_certificate(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
    result = subprocess.run(
        [sys.executable, "-m", "postier", "serve", "--port", "0", "--tls-port", "0",
         "--store", str(tmp_path / "mail")],
        capture_output=True, text=True, timeout=30, env=env, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr == "postier: --tls-port needs --tls-cert\n", result.stderr


# --- other clients ---------------------------------------------------------------------


@pytest.mark.interop
def test_swaks_tls_on_connect_with_auth(start_server: StartServer, tls_files: TlsFiles) -> None:
    server, port = start_smtps(start_server, tls_files.pem, "--auth", "any", "--auth-required")
    command = [
        require_tool("swaks", "swaks"),
        "--server", server.host, "--port", str(port), "--tls-on-connect",
        "--tls-verify", "--tls-ca-path", str(tls_files.ca_pem), "--tls-sni", "mx.test",
        "--helo", "swaks.client", "--from", "a@test.com", "--to", "b@test.com",
        "--auth", "PLAIN", "--auth-user", "swaksuser", "--auth-password", "swaks-secret",
        "--body", "swaks over SMTPS", "--timeout", "10",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TLS started" in result.stdout
    # Over TLS swaks marks what it reads with "<~": the greeting came through TLS.
    assert "<~  220 mx.test ESMTP" in result.stdout, result.stdout
    assert "<~  235 2.7.0" in result.stdout
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, message = split_trace(stored)
    assert " with ESMTPSA id " in trace["Received"], trace
    assert "(Authenticated sender: swaksuser)" in trace["Received"]
    assert message.rstrip(b"\n").endswith(b"swaks over SMTPS")


def test_postier_send_tls_to_the_smtps_port(start_server: StartServer, tls_files: TlsFiles) -> None:
    server, port = start_smtps(start_server, tls_files.pem, "--auth", "any")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
    base = [
        sys.executable, "-m", "postier", "send", "--server", f"{server.host}:{port}", "--tls",
        "--from", "a@test.com", "--to", "b@test.com", "--subject", "send smtps",
        "--body", "postier send over SMTPS", "--timeout", "10",
    ]  # fmt: skip
    result = subprocess.run(
        [*base, "--cafile", str(tls_files.ca_pem), "--auth-user", "frank",
         "--auth-password", "frank-secret"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, message = split_trace(stored)
    assert " with ESMTPSA id " in trace["Received"], trace
    assert "(Authenticated sender: frank)" in trace["Received"]
    assert b"postier send over SMTPS" in message
    # Without the authority the certificate is refused: exit status 6 (TLS failure).
    refused = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert len(mbox_messages(server.store, "b@test.com")) == 1
