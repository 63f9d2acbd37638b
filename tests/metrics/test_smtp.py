"""`/metrics` of a real `postier serve --metrics` after a known SMTP workload: the exact
counts of messages accepted and refused (by reason and code), bytes, sessions, TLS and
AUTH outcomes, and a latency histogram with one observation per message accepted."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from postier.server.accounts import hash_password
from tests.metrics.scrape import BODY, TIMEOUT, Samples, scrape, send, value
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles

BIG = "Subject: big\r\n\r\n" + "x" * 78 + "\r\n"
PASSWORD = "s3cret"


def settled(server: ServerProcess, ready: Callable[[Samples], bool]) -> Samples:
    """Scrape until `ready` holds (a session's end is counted once the server sees it)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        samples = scrape(server)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def closed(samples: Samples) -> bool:
    return value(samples, "postier_smtp_sessions_open") == 0


def test_messages_accepted_and_refused(tmp_path: Path) -> None:
    arguments = ("--http-port", "0", "--metrics", "--reject", "nobody@.*", "--max-size", "1K")
    with ServerProcess(tmp_path / "store", *arguments) as server:
        for _ in range(3):
            send(server, "one@example.org")
        send(server, "two@example.org", "nobody@example.org")  # stored, one RCPT refused
        send(server, "nobody@example.org")  # no recipient left: never a message
        with smtplib.SMTP(*server.address, timeout=TIMEOUT) as client:
            client.ehlo()
            client.mail("sender@example.org")  # no SIZE=: refused at the end of its data
            client.rcpt("one@example.org")
            code, _ = client.data(BIG * 16)
            assert code == 552
        samples = settled(
            server, lambda s: closed(s) and value(s, "postier_index_lag_messages") == 0
        )
    expected = {
        ("postier_smtp_messages_accepted_total", ()): 4,
        ("postier_smtp_messages_refused_total", (("reason", "limit"), ("code", "552"))): 1,
        (
            "postier_smtp_envelope_refused_total",
            (("command", "RCPT"), ("reason", "policy"), ("code", "550")),
        ): 2,
        ("postier_smtp_received_bytes_total", ()): 4 * len(BODY) + 16 * len(BIG),
        ("postier_smtp_sessions_total", ()): 6,
        ("postier_smtp_sessions_open", ()): 0,
        ("postier_smtp_delivery_seconds_count", ()): 4,
        ("postier_smtp_delivery_seconds_bucket", (("le", "+Inf"),)): 4,
        ("postier_index_lag_messages", ()): 0,
    }
    for (name, labels), count in expected.items():
        assert value(samples, name, **dict(labels)) == count, name
    assert value(samples, "postier_smtp_delivery_seconds_sum") > 0
    assert 1 <= value(samples, "postier_store_flush_seconds_count") <= 4
    refusals = {k for k in samples if k[0] == "postier_smtp_messages_refused_total"}
    assert len(refusals) == 1  # nothing else was refused


def test_chaos_at_the_end_of_data_is_a_refusal_with_its_code(tmp_path: Path) -> None:
    arguments = ("--http-port", "0", "--metrics", "--chaos", "data=451:100")
    with ServerProcess(tmp_path / "store", *arguments) as server:
        for _ in range(2):
            try:
                send(server, "one@example.org")
            except smtplib.SMTPDataError as error:
                assert error.smtp_code == 451
        samples = settled(server, closed)
    assert value(samples, "postier_smtp_messages_refused_total", reason="chaos", code="451") == 2
    assert value(samples, "postier_smtp_messages_accepted_total") == 0
    assert value(samples, "postier_smtp_delivery_seconds_count") == 0
    assert value(samples, "postier_smtp_received_bytes_total") == 2 * len(BODY)


def test_tls_and_auth_outcomes(tmp_path: Path, tls_files: TlsFiles) -> None:
    users = tmp_path / "users"
    users.write_text(f"ann:{hash_password(PASSWORD, cost=10)}\n")
    arguments = (
        "--http-port", "0", "--metrics", "--tls-cert", str(tls_files.pem),
        "--tls-port", "0", "--auth", str(users), "--auth-failure-delay", "0.01",
    )  # fmt: skip
    context = tls_files.client_context()
    with ServerProcess(tmp_path / "store", *arguments) as server:
        host, port = server.address
        smtps = int(re.findall(r"SMTPS\) on \S+:(\d+)", server.log_text())[-1])
        for password in (PASSWORD, "wrong"):
            with smtplib.SMTP(host, port, timeout=TIMEOUT) as client:
                client.starttls(context=context)
                try:
                    login_plain(client, password)
                except smtplib.SMTPAuthenticationError:
                    assert password == "wrong"
        with smtplib.SMTP_SSL(host, smtps, timeout=TIMEOUT, context=context) as client:
            login_plain(client, PASSWORD)
        starttls_then_garbage(host, port)
        samples = settled(
            server,
            lambda s: (
                closed(s)
                and value(s, "postier_smtp_tls_total", mode="starttls", outcome="failed") == 1
            ),
        )
    expected = {
        ("starttls", "ok"): 2,
        ("implicit", "ok"): 1,
        ("starttls", "failed"): 1,
        ("implicit", "failed"): 0,
    }
    for (mode, outcome), count in expected.items():
        assert value(samples, "postier_smtp_tls_total", mode=mode, outcome=outcome) == count
    assert value(samples, "postier_smtp_auth_total", outcome="success") == 2
    assert value(samples, "postier_smtp_auth_total", outcome="failure") == 1
    assert value(samples, "postier_smtp_auth_total", outcome="chaos") == 0
    assert value(samples, "postier_smtp_sessions_total") == 4


def login_plain(client: smtplib.SMTP, password: str) -> None:
    """One AUTH PLAIN (`login()` would try each mechanism in turn: one AUTH each)."""
    client.ehlo()
    client.user, client.password = "ann", password
    client.auth("PLAIN", client.auth_plain)


def starttls_then_garbage(host: str, port: int) -> None:
    """A client that asks for STARTTLS, then sends plain text where a handshake goes."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        reader = raw.makefile("rb")
        with reader:
            reader.readline()  # 220
            raw.sendall(b"EHLO client.test\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            raw.sendall(b"STARTTLS\r\n")
            assert reader.readline().startswith(b"220")
            raw.sendall(b"this is no TLS ClientHello\r\n" * 8)
            try:
                while raw.recv(4096):
                    pass
            except (ConnectionError, ssl.SSLError):
                pass
