"""Logging in and ending a POP3 session against a running server: the password file,
`--auth none`, the slowed and cut failures, the timeout, overlong lines, a client killed
in the middle, and the options read from the environment."""

from __future__ import annotations

import os
import poplib
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from postier.server import hash_password
from tests.conftest import StartServer
from tests.support.mailboxes import messages
from tests.support.pop3 import POP3_ARGS, deliver, numbered, pop3_address
from tests.support.server import ServerProcess

USER = "you@exemple.fr"


def raw(server: ServerProcess, data: bytes, *, until: bytes, timeout: float = 10) -> bytes:
    """Send `data` on a fresh connection and read until `until` has come (or it closes)."""
    with socket.create_connection(pop3_address(server), timeout=timeout) as sock:
        sock.sendall(data)
        got = b""
        deadline = time.monotonic() + timeout
        while until not in got and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_a_password_file_opens_only_the_mailbox_of_the_same_name(
    start_server: StartServer, tmp_path: Path
) -> None:
    accounts = tmp_path / "passwords"
    accounts.write_text(f"{USER}:{hash_password('right', cost=4)}\n")
    server = start_server(
        "--pop3-port", "0", "--auth", str(accounts), "--auth-insecure",
        "--auth-failure-delay", "0.05",
    )  # fmt: skip
    deliver(server, USER, numbered(2))
    deliver(server, "other@exemple.fr", numbered(1))
    client = poplib.POP3(*pop3_address(server), timeout=20)
    try:
        client.user(USER)
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
            client.pass_("wrong")
        client.user("other@exemple.fr")
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
            client.pass_("right")
        client.user(USER)
        client.pass_("right")
        assert client.stat()[0] == 2
        client.quit()
    finally:
        client.close()
    assert "POP3 authentication failed for 'other@exemple.fr'" in server.log_text()


def test_failed_logins_are_slowed_then_cut(start_server: StartServer, tmp_path: Path) -> None:
    accounts = tmp_path / "passwords"
    accounts.write_text(f"{USER}:{hash_password('right', cost=4)}\n")
    server = start_server(
        "--pop3-port", "0", "--auth", str(accounts), "--auth-insecure",
        "--auth-failure-delay", "0.2",
    )  # fmt: skip
    started = time.monotonic()
    out = raw(server, b"USER x\r\nPASS a\r\n" * 5, until=b"too many", timeout=30)
    elapsed = time.monotonic() - started
    assert out.count(b"-ERR [AUTH] authentication failed") == 4
    assert out.endswith(b"-ERR [AUTH] too many failed logins; closing\r\n")
    assert elapsed >= 0.2 + 0.4 + 0.8 + 1.6  # each failure answered twice as late


def test_pop3_without_logins_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "postier", "serve", "--port", "0", "--store",
         str(tmp_path / "mail"), "--no-http", "--pop3-port", "0"],
        check=False, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert "POP3 needs logins: give --auth any" in result.stderr


def test_the_ports_come_from_the_environment_too(start_server: StartServer) -> None:
    env = {"POSTIER_POP3_PORT": "0", "POSTIER_AUTH": "any", "POSTIER_AUTH_INSECURE": "1"}
    server = start_server(env=env)
    assert raw(server, b"QUIT\r\n", until=b"signing off").startswith(b"+OK ")


def test_a_timeout_closes_the_session_and_deletes_nothing(start_server: StartServer) -> None:
    server = start_server(*POP3_ARGS, "--timeout", "1")
    deliver(server, USER, numbered(2))
    out = raw(server, f"USER {USER}\r\nPASS x\r\nDELE 1\r\n".encode(), until=b"idle too long")
    assert out.endswith(b"-ERR mx.test idle too long; closing\r\n")
    assert len(messages(server.store, USER, "mbox")) == 2


def test_an_overlong_line_is_refused_and_the_session_goes_on(start_server: StartServer) -> None:
    server = start_server(*POP3_ARGS)
    out = raw(server, b"USER " + b"x" * 100_000 + b"\r\nNOOP\r\nQUIT\r\n", until=b"signing off")
    assert b"-ERR command line too long\r\n-ERR command not valid" in out


def test_pipelined_commands_are_answered_in_order(start_server: StartServer) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(3, size=200_000))
    out = raw(
        server,
        f"USER {USER}\r\nPASS x\r\nRETR 1\r\nRETR 2\r\nSTAT\r\nQUIT\r\n".encode(),
        until=b"signing off",
    )
    parts = out.split(b"\r\n.\r\n")
    assert len(parts) == 3 and parts[1].startswith(b"+OK ")
    assert parts[2].startswith(b"+OK 3 ")


CLIENT = textwrap.dedent(
    """
    import poplib, sys, time
    client = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
    client.user(sys.argv[2]); client.pass_("x")
    for number in range(1, client.stat()[0] + 1):
        client.retr(number); client.dele(number)
    print("deleted", flush=True)
    time.sleep(60)
    """
)


def test_a_client_killed_in_the_middle_deletes_nothing(start_server: StartServer) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(4))
    before = messages(server.store, USER, "mbox")
    _, port = pop3_address(server)
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), USER], stdout=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert client.stdout is not None
        assert client.stdout.readline() == b"deleted\n"
    finally:
        os.killpg(client.pid, signal.SIGKILL)
        client.wait(10)
        if client.stdout is not None:
            client.stdout.close()
    server.wait_for_log(r"POP3 connection .* closed")
    assert messages(server.store, USER, "mbox") == before
    again = poplib.POP3(*pop3_address(server), timeout=20)
    try:
        again.user(USER)
        again.pass_("x")  # the mailbox was let go
        assert again.stat()[0] == 4
        again.quit()
    finally:
        again.close()


def test_with_workers_the_first_serves_pop3_every_workers_mail(
    start_server: StartServer,
) -> None:
    server = start_server(*POP3_ARGS, "--workers", "2")
    deliver(server, USER, numbered(4))  # one connection: one worker
    deliver(server, USER, numbered(4))  # maybe the other
    text = server.wait_for_log(r"POP3 on ")
    assert text.count("POP3 on ") == 1 and "worker 1: POP3 on " in text
    client = poplib.POP3(*pop3_address(server), timeout=20)
    try:
        client.user(USER)
        client.pass_("x")
        assert client.stat()[0] == 8
        client.quit()
    finally:
        client.close()


def test_sighup_reloads_the_password_file_for_pop3(
    start_server: StartServer, tmp_path: Path
) -> None:
    accounts = tmp_path / "passwords"
    accounts.write_text(f"{USER}:{hash_password('old', cost=4)}\n")
    server = start_server(
        "--pop3-port", "0", "--auth", str(accounts), "--auth-insecure",
        "--auth-failure-delay", "0.01",
    )  # fmt: skip
    assert b"+OK maildrop" in raw(
        server, f"USER {USER}\r\nPASS old\r\n".encode(), until=b"maildrop"
    )
    accounts.write_text(f"{USER}:{hash_password('new', cost=4)}\n")
    server.signal(signal.SIGHUP)
    server.wait_for_log(r"SIGHUP: password file \S+ loaded")
    out = raw(server, f"USER {USER}\r\nPASS old\r\nUSER {USER}\r\nPASS new\r\n".encode(),
              until=b"maildrop")  # fmt: skip
    assert b"-ERR [AUTH] authentication failed\r\n+OK send PASS\r\n+OK maildrop" in out


def test_failures_over_smtp_slow_pop3_logins_to_the_same_account(
    start_server: StartServer, tmp_path: Path
) -> None:
    import smtplib

    accounts = tmp_path / "passwords"
    accounts.write_text(f"{USER}:{hash_password('right', cost=4)}\n")
    server = start_server(
        "--pop3-port", "0", "--auth", str(accounts), "--auth-insecure",
        "--auth-failure-delay", "0.25",
    )  # fmt: skip
    for _ in range(3):
        with smtplib.SMTP(*server.address, timeout=30) as smtp:
            smtp.ehlo()
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login(USER, "guess")
    started = time.monotonic()
    out = raw(server, f"USER {USER}\r\nPASS guess\r\n".encode(), until=b"-ERR", timeout=30)
    # The account's fourth failure: 0.25 s doubled three times, though the first on POP3.
    assert time.monotonic() - started >= 1.9
    assert out.endswith(b"-ERR [AUTH] authentication failed\r\n")
