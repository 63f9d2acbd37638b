"""`postier serve` as a user runs it: --help, bad values, a busy port, the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.support.smtp import connect

OPTIONS = [
    "--host",
    "--port",
    "--store",
    "--format",
    "--hostname",
    "--max-size",
    "--max-recipients",
    "--timeout",
    "--max-connections",
    "--tls-cert",
    "--tls-key",
    "--no-fsync",
    "--log-level",
]


def postier(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `postier` expecting it to stop by itself: a server that starts instead is
    killed after a few seconds and the test fails on its status."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
    command = [sys.executable, "-m", "postier", *args]
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=6,
            env={**clean, **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(args)} kept running instead of stopping: {expired.stderr!r}")


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # argparse may print its usage first; the error itself is the one line naming us.
    errors = [line for line in result.stderr.splitlines() if line.startswith("postier")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_help_mentions_every_option() -> None:
    result = postier("serve", "--help")
    assert result.returncode == 0
    for option in OPTIONS:
        assert option in result.stdout, option
    text = " ".join(result.stdout.split())
    assert "POSTIER_" in text  # the environment is documented
    assert "fsync" in text and "may lose" in text  # --no-fsync says what it trades
    assert "2525" in text and "32M" in text  # defaults


def test_console_script_is_installed() -> None:
    # The script of the environment the tests run in, never one found on PATH: the
    # README's set-up does not put the virtual environment's bin/ there.
    script = Path(sysconfig.get_path("scripts")) / "postier"
    assert script.is_file(), f"no console script at {script}: is postier installed here?"
    result = subprocess.run(
        [str(script), "serve", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0 and "--max-size" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--port", "abc"], "abc"),
        (["--port", "70000"], "70000"),
        (["--max-size", "lots"], "lots"),
        (["--max-recipients", "0"], "--max-recipients"),
        (["--timeout", "-1"], "--timeout"),
        (["--max-connections", "many"], "many"),
        (["--format", "zip"], "zip"),
        (["--log-level", "loud"], "loud"),
    ],
)
def test_bad_option_value_is_a_one_line_error(tmp_path: Path, args: list[str], needle: str) -> None:
    result = postier("serve", "--store", str(tmp_path / "mail"), *args)
    assert_one_line_error(result, needle)
    assert not (tmp_path / "mail").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POSTIER_PORT", "abc"),
        ("POSTIER_MAX_SIZE", "huge"),
        ("POSTIER_TIMEOUT", "soon"),
        ("POSTIER_FORMAT", "zip"),
        ("POSTIER_LOG_LEVEL", "loud"),
    ],
)
def test_bad_environment_value_is_a_one_line_error(tmp_path: Path, name: str, value: str) -> None:
    # An option given on the command line overrides its variable, so leave that one out.
    port = [] if name == "POSTIER_PORT" else ["--port", "0"]
    result = postier("serve", *port, "--store", str(tmp_path / "mail"), env={name: value})
    assert_one_line_error(result, value)


def test_tls_key_without_cert_is_an_error(tmp_path: Path) -> None:
    result = postier("serve", "--store", str(tmp_path / "m"), "--tls-key", str(tmp_path / "k"))
    assert_one_line_error(result, "--tls-cert")
    assert result.returncode == 1


def test_unreadable_certificate_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    result = postier("serve", "--port", "0", "--store", str(tmp_path / "m"), "--tls-cert", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith("postier: cannot load the TLS certificate")
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_port_in_use_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = postier("serve", "--port", str(port), "--store", str(tmp_path / "mail"))
    assert result.returncode == 1
    assert result.stderr == (
        f"postier: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    ), result.stderr


def test_options_from_the_environment(start_server: StartServer) -> None:
    server = start_server(
        env={
            "POSTIER_MAX_SIZE": "64K",
            "POSTIER_MAX_RECIPIENTS": "2",
            "POSTIER_FORMAT": "maildir",
            "POSTIER_NO_FSYNC": "1",
        }
    )
    with connect(server.address) as client:
        ehlo = client.command("EHLO again.test")
        assert "SIZE 65536" in ehlo.lines
        client.command("MAIL FROM:<a@test.com>")
        assert client.command("RCPT TO:<r1@test.com>").code == 250
        assert client.command("RCPT TO:<r2@test.com>").code == 250
        assert client.command("RCPT TO:<r3@test.com>").code == 452
        client.command("DATA")
        client.send(b"Subject: env\r\n\r\n.\r\n")
        assert client.reply().code == 250
    assert (server.store / "r1@test.com" / "new").is_dir()
    assert "no fsync" in server.log_text()


def test_command_line_wins_over_the_environment(start_server: StartServer) -> None:
    server = start_server("--max-size", "2048", env={"POSTIER_MAX_SIZE": "64K"})
    with connect(server.address) as client:
        assert "SIZE 2048" in client.command("EHLO again.test").lines


def test_default_store_is_mail_in_the_working_directory(tmp_path: Path) -> None:
    # ServerProcess always passes --store; run the command bare to see the default.
    log = tmp_path / "log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "postier", "serve", "--port", "0"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for _ in range(200):
                if "listening on" in log.read_text() or process.poll() is not None:
                    break
                time.sleep(0.05)
            assert "listening on 127.0.0.1:" in log.read_text()
            assert (tmp_path / "mail").is_dir()
        finally:
            process.terminate()
            try:
                status = process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                raise
    assert status == 0


def test_one_log_line_per_connection_and_per_message(start_server: StartServer) -> None:
    server = start_server("--max-size", "1000")
    with connect(server.address) as client:
        for size in (10, 5000):
            client.command("MAIL FROM:<a@test.com>")
            client.command("RCPT TO:<b@test.com>")
            client.command("DATA")
            client.send(b"Subject: s\r\n\r\n" + b"x" * size + b"\r\n.\r\n")
            client.reply()
        client.command("QUIT")
    deadline = time.monotonic() + 5
    while " closed after " not in server.log_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    lines = server.log_text().splitlines()
    accepted = [line for line in lines if " accepted " in line]
    refused = [line for line in lines if " refused message " in line]
    closed = [line for line in lines if " closed after " in line]
    assert len(accepted) == 1 and "<a@test.com>" in accepted[0] and "<b@test.com>" in accepted[0]
    assert len(refused) == 1 and "552" in refused[0]
    assert len(closed) == 1 and "1 accepted, 1 refused; QUIT" in closed[0]


def test_store_of_the_other_format_is_a_one_line_error(tmp_path: Path) -> None:
    store = tmp_path / "mail"
    store.mkdir()
    (store / "someone@test.com.mbox").write_bytes(b"")
    result = postier("serve", "--port", "0", "--store", str(store), "--format", "maildir")
    assert result.returncode == 1
    assert result.stderr == f"postier: {store} holds mbox mailboxes, not maildir\n"


def test_store_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    store = tmp_path / "mail"
    store.write_text("not a directory\n")
    result = postier("serve", "--port", "0", "--store", str(store))
    assert result.returncode == 1
    assert result.stderr.startswith(f"postier: cannot open the store {store}: ")
    assert len(result.stderr.splitlines()) == 1, result.stderr
