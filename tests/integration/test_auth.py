"""SMTP AUTH (RFC 4954) on a live `postier serve`: smtplib, a raw client, swaks, `postier send`.

The password files are hashed with a tiny scrypt cost (`cost=4`) so that a check takes
microseconds: the delays measured here are the server's deliberate ones, not scrypt's.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from postier.server.accounts import hash_password
from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages, split_trace
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient, Reply, connect
from tests.support.tls import TlsFiles
from tests.support.tools import require_tool

# Distinctive enough that finding it anywhere (log, mailbox) can only mean a leak.
SECRET = "Zq7-hunter2-PASSWORD-xK9"
MESSAGE = "Subject: auth test\r\n\r\nhello after login\r\n"


# --- helpers ----------------------------------------------------------------------------


def write_password_file(path: Path, users: dict[str, str]) -> Path:
    """A `user:hash` file, hashed cheaply (the server reads each line's own cost)."""
    lines = [f"{user}:{hash_password(password, cost=4)}" for user, password in users.items()]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def plain(user: str, password: str) -> str:
    """The base64 of a PLAIN response (RFC 4616): authzid NUL authcid NUL passwd."""
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def login(client: smtplib.SMTP, mechanism: str, user: str, password: str) -> tuple[int, bytes]:
    """smtplib's AUTH with exactly `mechanism` (its `login()` picks one by itself)."""
    client.user, client.password = user, password
    methods: dict[str, Callable[..., str]] = {
        "PLAIN": client.auth_plain,
        "LOGIN": client.auth_login,
        "CRAM-MD5": client.auth_cram_md5,
    }
    # No initial response, so that LOGIN and CRAM-MD5 go through their 334 challenges.
    return client.auth(mechanism, methods[mechanism], initial_response_ok=mechanism == "PLAIN")


def timed(action: Callable[[], Reply]) -> tuple[Reply, float]:
    start = time.monotonic()
    reply = action()
    return reply, time.monotonic() - start


def auth_keyword(client: RawClient) -> str | None:
    """The AUTH line of a fresh EHLO, or None when AUTH is not offered."""
    reply = client.command("EHLO client.test")
    assert reply.code == 250, reply
    return next((line for line in reply.lines if line.upper().startswith("AUTH")), None)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}


# --- AUTH accepted: smtplib, every mechanism -------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_any_login_with_smtplib_then_send(start_server: StartServer, mechanism: str) -> None:
    # debug logs every refused command too: the password must not appear there either.
    server = start_server("--auth", "any", "--auth-insecure", "--log-level", "debug")
    with smtplib.SMTP(server.host, server.port, "client.test", timeout=10) as client:
        client.ehlo()
        assert client.has_extn("auth")
        offered = client.esmtp_features["auth"].split()
        assert offered == ["PLAIN", "LOGIN", "CRAM-MD5"], offered
        code, _ = login(client, mechanism, "alice", SECRET)
        assert code == 235
        client.sendmail("alice@test.com", ["b@test.com"], MESSAGE)
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, body = split_trace(stored)
    assert "(Authenticated sender: alice)" in trace["Received"], trace
    assert " with ESMTPA id " in trace["Received"], trace
    assert body == b"Subject: auth test\n\nhello after login\n"
    log = server.wait_for_log(r"closed after")
    assert f"authenticated as 'alice' ({mechanism})" in log, log
    assert re.search(r"accepted \S+ from <alice@test.com> .*, user 'alice'", log), log
    for leak in (SECRET, b64(SECRET), plain("alice", SECRET)):
        assert leak not in log, f"{leak!r} in the log"
        assert leak.encode() not in stored, f"{leak!r} in the mailbox"


def test_second_auth_is_503_and_unknown_mechanism_504(start_server: StartServer) -> None:
    server = start_server("--auth", "any", "--auth-insecure")
    with connect(server.address) as client:
        reply = client.command("AUTH GSSAPI")
        assert (reply.code, reply.enhanced) == (504, "5.5.4"), reply
        reply = client.command("AUTH PLAIN *")  # not base64
        assert reply.code == 501, reply
        assert client.command("AUTH LOGIN").code == 334
        reply = client.command("*")  # RFC 4954 §4: the client cancels
        assert reply.code == 501, reply
        assert client.command(f"AUTH PLAIN {plain('u', 'p')}").code == 235
        reply = client.command(f"AUTH PLAIN {plain('u', 'p')}")
        assert reply.code == 503, reply
        assert client.command("NOOP").code == 250


# --- a password file -------------------------------------------------------------------


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    return write_password_file(tmp_path / "users.txt", {"alice": SECRET, "bob": "bob-pass"})


def test_password_file_right_and_wrong(start_server: StartServer, password_file: Path) -> None:
    delay = 0.2
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", str(delay)
    )
    with connect(server.address) as client:
        reply, elapsed = timed(lambda: client.command(f"AUTH PLAIN {plain('alice', 'wrong')}"))
        assert (reply.code, reply.enhanced) == (535, "5.7.8"), reply
        assert elapsed >= delay * 0.95, f"a failure answered after {elapsed:.3f}s"
        # The connection goes on, and the right password is not delayed by the failure.
        reply, elapsed = timed(lambda: client.command(f"AUTH PLAIN {plain('alice', SECRET)}"))
        assert (reply.code, reply.enhanced) == (235, "2.7.0"), reply
        assert client.command("MAIL FROM:<alice@test.com>").code == 250
    with smtplib.SMTP(server.host, server.port, "client.test", timeout=10) as smtp:
        smtp.ehlo()
        assert login(smtp, "LOGIN", "bob", "bob-pass")[0] == 235
        smtp.sendmail("bob@test.com", ["c@test.com"], MESSAGE)
    (stored,) = mbox_messages(server.store, "c@test.com")
    assert "(Authenticated sender: bob)" in split_trace(stored)[0]["Received"]
    log = server.log_text()
    assert "authentication failed for 'alice'" in log, log
    assert SECRET not in log and "bob-pass" not in log


def test_unknown_user_is_535_too(start_server: StartServer, password_file: Path) -> None:
    delay = 0.2
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", str(delay)
    )
    with connect(server.address) as client:
        reply, elapsed = timed(lambda: client.command(f"AUTH PLAIN {plain('mallory', SECRET)}"))
        assert (reply.code, reply.enhanced) == (535, "5.7.8"), reply
        assert elapsed >= delay * 0.95
        # Same answer as a wrong password: the reply does not tell which users exist.
        wrong = client.command(f"AUTH PLAIN {plain('alice', 'nope')}")
        assert (wrong.code, wrong.lines) == (reply.code, reply.lines)
    with smtplib.SMTP(server.host, server.port, "client.test", timeout=10) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            login(smtp, "PLAIN", "mallory", SECRET)
        assert error.value.smtp_code == 535


def test_fifth_failure_closes_with_421(start_server: StartServer, password_file: Path) -> None:
    # Delays 0.05, 0.1, 0.2, 0.4, 0.8: the whole test stays short.
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", "0.05"
    )
    with connect(server.address) as client:
        for attempt in range(4):
            reply = client.command(f"AUTH PLAIN {plain('alice', f'guess{attempt}')}")
            assert reply.code == 535, (attempt, reply)
        reply = client.command(f"AUTH PLAIN {plain('alice', 'guess4')}")
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), reply
        assert client.closed_by_server(5)
    # The server still serves, and the owner of the account still gets in.
    with connect(server.address) as client:
        assert client.command(f"AUTH PLAIN {plain('alice', SECRET)}").code == 235


@pytest.mark.slow
def test_failures_delay_the_account_not_other_clients(
    start_server: StartServer, password_file: Path
) -> None:
    """While one client guesses alice's password, bob logs in without waiting; bob's own
    first failure waits the base delay, not alice's grown one."""
    base = 1.0
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", str(base)
    )
    guesses: list[tuple[Reply, float]] = []

    def guess_alice() -> None:
        with connect(server.address) as attacker:
            for attempt in range(2):  # answered after 1 s, then 2 s
                command = f"AUTH PLAIN {plain('alice', str(attempt))}"
                guesses.append(timed(lambda: attacker.command(command)))  # noqa: B023

    thread = threading.Thread(target=guess_alice, daemon=True)
    thread.start()
    bob_latencies: list[float] = []
    try:
        server.wait_for_log(r"authentication failed for 'alice'", timeout=10)
        # alice's failures are piling up now: bob, on other connections, is not slowed.
        for _ in range(3):
            with connect(server.address) as bob:
                reply, elapsed = timed(
                    lambda: bob.command(f"AUTH PLAIN {plain('bob', 'bob-pass')}")
                )
                assert reply.code == 235, reply
                bob_latencies.append(elapsed)
    finally:
        thread.join(15)
    assert not thread.is_alive()
    assert [reply.code for reply, _ in guesses] == [535, 535], guesses
    assert guesses[0][1] >= base * 0.95 and guesses[1][1] >= 2 * base * 0.95, guesses
    assert max(bob_latencies) < base * 0.6, bob_latencies
    # bob's first failure waits only the base delay, whatever alice's count.
    with connect(server.address) as other:
        reply, bob_first = timed(lambda: other.command(f"AUTH PLAIN {plain('bob', 'x')}"))
        assert reply.code == 535
    assert base * 0.95 <= bob_first < 1.9 * base, bob_first
    # Two failures for alice so far: a third, on a NEW connection, waits as a third
    # (4 s): spreading guesses over connections gains nothing.
    with connect(server.address) as fresh:
        reply, alice_third = timed(lambda: fresh.command(f"AUTH PLAIN {plain('alice', 'x')}"))
        assert reply.code == 535
    assert alice_third >= 4 * base * 0.95, (
        f"alice's 3rd failure (on a new connection) was answered after {alice_third:.2f}s; "
        f"expected >= {4 * base}s (base x 2^(3-1)): the account's failures are counted short"
    )


def test_guesses_spread_over_connections_slow_down_as_one(
    start_server: StartServer, password_file: Path
) -> None:
    """One guess per connection: the account's count still doubles the delay each time."""
    base = 0.3
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", str(base)
    )
    delays: list[float] = []
    for attempt in range(3):
        with connect(server.address) as client:
            command = f"AUTH PLAIN {plain('alice', f'guess{attempt}')}"
            reply, elapsed = timed(lambda: client.command(command))  # noqa: B023
            assert reply.code == 535, reply
            delays.append(elapsed)
    expected = [base, 2 * base, 4 * base]
    assert all(got >= want * 0.95 for got, want in zip(delays, expected, strict=True)), (
        f"one failure per connection for one account answered after "
        f"{[round(d, 2) for d in delays]}s; expected at least {expected}s"
    )


# --- AUTH and TLS ----------------------------------------------------------------------


def test_auth_only_after_starttls(
    start_server: StartServer, password_file: Path, tls_files: TlsFiles
) -> None:
    server = start_server("--auth", str(password_file), "--tls-cert", str(tls_files.pem))
    with RawClient(server.address) as client:
        assert client.reply().code == 220
        assert auth_keyword(client) is None, "AUTH offered in clear"
        reply = client.command(f"AUTH PLAIN {plain('alice', SECRET)}")
        assert (reply.code, reply.enhanced) == (538, "5.7.11"), reply
        assert client.command("STARTTLS").code == 220
        client.start_tls(tls_files.client_context(), "mx.test")
        assert auth_keyword(client) == "AUTH PLAIN LOGIN"  # no CRAM-MD5 with a file
        assert client.command(f"AUTH PLAIN {plain('alice', SECRET)}").code == 235
        assert client.command("MAIL FROM:<alice@test.com>").code == 250
        assert client.command("RCPT TO:<b@test.com>").code == 250
        assert client.command("DATA").code == 354
        assert client.command(MESSAGE.encode() + b".").code == 250
        assert client.command("QUIT").code == 221
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, _ = split_trace(stored)
    assert " with ESMTPSA id " in trace["Received"], trace
    assert "(Authenticated sender: alice)" in trace["Received"]
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+\)", trace["Received"]), trace


def test_starttls_forgets_a_login_made_in_clear(
    start_server: StartServer, password_file: Path, tls_files: TlsFiles
) -> None:
    """RFC 3207 §4.2: the session starts over after STARTTLS, login included."""
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--tls-cert", str(tls_files.pem)
    )
    with connect(server.address) as client:
        assert client.command(f"AUTH PLAIN {plain('alice', SECRET)}").code == 235
        assert client.command("STARTTLS").code == 220
        client.start_tls(tls_files.client_context(), "mx.test")
        assert client.command("EHLO client.test").code == 250
        assert client.command(f"AUTH PLAIN {plain('bob', 'bob-pass')}").code == 235


# --- --auth-required -------------------------------------------------------------------


def test_auth_required_refuses_mail_until_login(
    start_server: StartServer, password_file: Path
) -> None:
    server = start_server("--auth", str(password_file), "--auth-insecure", "--auth-required")
    with connect(server.address) as client:
        reply = client.command("MAIL FROM:<alice@test.com>")
        assert (reply.code, reply.enhanced) == (530, "5.7.0"), reply
        assert client.command("RCPT TO:<b@test.com>").code == 503
        assert client.command(f"AUTH PLAIN {plain('alice', SECRET)}").code == 235
        assert client.command("MAIL FROM:<alice@test.com>").code == 250
    with smtplib.SMTP(server.host, server.port, "client.test", timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("a@test.com", ["b@test.com"], MESSAGE)
        assert refused.value.smtp_code == 530
    assert not list(server.store.glob("*.mbox"))


def test_auth_required_over_tls_only_says_starttls_first(
    start_server: StartServer, password_file: Path, tls_files: TlsFiles
) -> None:
    server = start_server(
        "--auth", str(password_file), "--auth-required", "--tls-cert", str(tls_files.pem)
    )
    with connect(server.address) as client:
        reply = client.command("MAIL FROM:<alice@test.com>")
        assert reply.code == 530, reply
        assert client.command("STARTTLS").code == 220
        client.start_tls(tls_files.client_context(), "mx.test")
        assert client.command("EHLO client.test").code == 250
        assert client.command("MAIL FROM:<alice@test.com>").code == 530
        assert client.command(f"AUTH PLAIN {plain('alice', SECRET)}").code == 235
        assert client.command("MAIL FROM:<alice@test.com>").code == 250


# --- SIGHUP reloads the password file ---------------------------------------------------


def test_sighup_reloads_the_password_file(start_server: StartServer, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    write_password_file(users, {"alice": SECRET})
    server = start_server("--auth", str(users), "--auth-insecure", "--auth-failure-delay", "0.01")
    with connect(server.address) as client:
        assert client.command(f"AUTH PLAIN {plain('carol', 'carol-pass')}").code == 535
    write_password_file(users, {"alice": SECRET, "carol": "carol-pass"})
    server.signal(signal.SIGHUP)
    server.wait_for_log(r"SIGHUP: password file \S+ loaded")
    with connect(server.address) as client:
        assert client.command(f"AUTH PLAIN {plain('carol', 'carol-pass')}").code == 235
    # A broken file: an error in the log, and the accounts in use stay.
    users.write_text("carol:$scrypt$not-a-hash\n")
    server.signal(signal.SIGHUP)
    log = server.wait_for_log(r"ERROR SIGHUP: .*keeping the accounts in use")
    assert "users.txt:1" in log, log
    for user, password in (("alice", SECRET), ("carol", "carol-pass")):
        with connect(server.address) as client:
            assert client.command(f"AUTH PLAIN {plain(user, password)}").code == 235, user
    # A missing file too.
    users.unlink()
    server.signal(signal.SIGHUP)
    server.wait_for_log(r"ERROR SIGHUP: .*keeping the accounts in use", count=2)
    with connect(server.address) as client:
        assert client.command(f"AUTH PLAIN {plain('carol', 'carol-pass')}").code == 235
    assert server.process is not None and server.process.poll() is None


# --- command-line errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--auth-required"], "--auth-required needs --auth"),
        (["--auth", "any"], "--auth-insecure"),
        (["--auth", "{missing}", "--auth-insecure"], "cannot read the password file"),
        (["--auth", "{broken}", "--auth-insecure"], "broken.txt:2:"),
    ],
)
def test_cli_errors(tmp_path: Path, options: list[str], needle: str) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text(f"alice:{hash_password('x', cost=4)}\nbob\n")
    paths = {"missing": str(tmp_path / "missing.txt"), "broken": str(broken)}
    command = [
        sys.executable, "-m", "postier", "serve", "--port", "0",
        "--store", str(tmp_path / "mail"), *(option.format(**paths) for option in options),
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=30, env=clean_env(), check=False
    )
    assert result.returncode != 0, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("postier: "), result.stderr
    assert needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- swaks -----------------------------------------------------------------------------


def swaks(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        require_tool("swaks", "swaks"),
        "--server", server.host, "--port", str(server.port),
        "--helo", "swaks.client", "--from", "a@test.com", "--to", "b@test.com",
        "--timeout", "10", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.interop
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_swaks_auth_any(start_server: StartServer, mechanism: str) -> None:
    server = start_server("--auth", "any", "--auth-insecure", "--auth-required")
    result = swaks(
        server, "--auth", mechanism, "--auth-user", "swaksuser", "--auth-password", SECRET
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  235 2.7.0" in result.stdout, result.stdout
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, _ = split_trace(stored)
    assert "(Authenticated sender: swaksuser)" in trace["Received"], trace
    assert " with ESMTPA id " in trace["Received"]
    assert SECRET not in server.log_text()


@pytest.mark.interop
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_auth_password_file(
    start_server: StartServer, password_file: Path, mechanism: str
) -> None:
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-failure-delay", "0.01"
    )
    good = swaks(server, "--auth", mechanism, "--auth-user", "bob", "--auth-password", "bob-pass")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = swaks(server, "--auth", mechanism, "--auth-user", "bob", "--auth-password", "nope")
    assert bad.returncode != 0
    assert "<** 535 5.7.8" in bad.stdout, bad.stdout
    assert len(mbox_messages(server.store, "b@test.com")) == 1


# --- postier send, the project's own client --------------------------------------------


def postier_send(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "postier", "send",
        "--server", f"{server.host}:{server.port}", "--helo", "send.client",
        "--from", "alice@test.com", "--to", "b@test.com", "--subject", "via send",
        "--body", "sent by postier send", "--timeout", "10", *args,
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=clean_env(), check=False
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_postier_send_logs_in(
    start_server: StartServer, password_file: Path, mechanism: str
) -> None:
    server = start_server(
        "--auth", str(password_file), "--auth-insecure", "--auth-required",
        "--auth-failure-delay", "0.01",
    )  # fmt: skip
    args = ("--auth-user", "alice", "--auth-mechanism", mechanism, "--transcript")
    result = postier_send(server, *args, "--auth-password", SECRET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr, "the transcript shows the password"
    (stored,) = mbox_messages(server.store, "b@test.com")
    trace, body = split_trace(stored)
    assert "(Authenticated sender: alice)" in trace["Received"]
    assert b"sent by postier send" in body
    wrong = postier_send(server, *args, "--auth-password", "wrong")
    assert wrong.returncode == 7, wrong.stdout + wrong.stderr  # "authentication failed"
    assert len(mbox_messages(server.store, "b@test.com")) == 1


def test_postier_send_cram_md5_against_any(start_server: StartServer) -> None:
    server = start_server("--auth", "any", "--auth-insecure")
    result = postier_send(
        server, "--auth-user", "dave", "--auth-password", SECRET, "--auth-mechanism", "CRAM-MD5"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (stored,) = mbox_messages(server.store, "b@test.com")
    assert "(Authenticated sender: dave)" in split_trace(stored)[0]["Received"]
    assert "authenticated as 'dave' (CRAM-MD5)" in server.log_text()
