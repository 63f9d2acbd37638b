"""`postier send` as a command: options, usage errors, standard input, exit statuses."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import pytest

from postier.cli import build_parser
from postier.cli.send import ExitStatus, parse_server, plan, status_of
from postier.cli.send_input import UsageError, read_stdin_text
from postier.client import (
    AuthenticationError,
    ClientError,
    ClientTimeoutError,
    ConnectError,
    ConnectionLostError,
    DataRefusedError,
    NotSupportedError,
    ProtocolViolationError,
    RecipientsRefusedError,
    SenderRefusedError,
    ServiceRefusedError,
    TlsError,
)
from postier.client.session import Client
from postier.client.tls import Security
from postier.protocol.smtp.replies import Reply
from tests.client.conftest import RunCli, StartSmtpd
from tests.client.servers import PASSWORD, USER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mx.example", ("mx.example", 2525)),
        ("mx.example:25", ("mx.example", 25)),
        ("127.0.0.1:465", ("127.0.0.1", 465)),
        ("[::1]:2525", ("::1", 2525)),
        ("[::1]", ("::1", 2525)),
        ("::1", ("::1", 2525)),
    ],
)
def test_server_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["", ":25", "host:port", "host:0", "host:70000", "[::1]:x"])
def test_bad_server_addresses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_server(text)


@pytest.mark.parametrize(
    ("extra", "security"),
    [
        ((), Security.NONE),
        (("--starttls",), Security.STARTTLS),
        (("--tls",), Security.TLS),
        (("--server", "mx:465"), Security.TLS),  # 465 implies TLS (RFC 8314 §3.3)
        (("--server", "mx:465", "--starttls"), Security.STARTTLS),
        (("--server", "mx:587"), Security.STARTTLS_IF_OFFERED),
    ],
)
def test_how_the_connection_is_secured(extra: tuple[str, ...], security: Security) -> None:
    argv = ["send", "--from", "a@b.c", "--to", "x@y.z", "--body", "hi", *extra]
    assert plan(build_parser().parse_args(argv)).security is security


def test_the_server_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTIER_SERVER", "mail.test:2600")
    args = build_parser().parse_args(["send", "--from", "a@b.c", "--to", "x@y.z", "--body", "x"])
    job = plan(args)
    assert (job.host, job.port) == ("mail.test", 2600)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--to", "x@y.z", "--body", "hi"), "postier: --from is required"),
        (("--from", "a@b.c", "--body", "hi"), "postier: at least one --to, --cc or --bcc"),
        (("--from", "a@b.c", "--to", "x@", "--body", "hi"), "postier: bad address 'x@'"),
        (
            ("--from", "a@b.c", "--to", "x@y.z", "--body-file", "/nonexistent"),
            "postier: cannot read",
        ),
        (
            ("--from", "a@b.c", "--to", "x@y.z", "--header", "oops"),
            "postier: --header: not a header",
        ),
        (("--from", "a@b.c", "--to", "x@y.z", "--auth-user", "u"), "postier: --auth-user needs"),
        (
            ("--server", "host:none", "--from", "a@b.c", "--to", "x@y.z"),
            "postier: --server: bad port",
        ),
        (("--from", "a@b.c", "--to", "x@y.z", "--attach", "/nonexistent"), "postier: cannot read"),
        (("--data", "/nonexistent"), "postier: cannot read /nonexistent"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    send_cli: RunCli, args: tuple[str, ...], message: str
) -> None:
    result = send_cli(*args)
    assert result.status == ExitStatus.USAGE == 2
    assert result.err.startswith(message), result.err
    assert result.err.count("\n") == 1
    assert result.out == ""


def test_argparse_conflicts_are_usage_errors_too(send_cli: RunCli) -> None:
    result = send_cli("--from", "a@b.c", "--to", "x@y.z", "--body", "a", "--data", "f")
    assert result.status == 2
    assert "not allowed with argument" in result.err


def test_help_lists_every_option_and_the_exit_statuses(send_cli: RunCli) -> None:
    result = send_cli("--help")
    assert result.status == 0
    for option in (
        "--server", "--from", "--to", "--cc", "--bcc", "--subject", "--body", "--body-file",
        "--html-file", "--attach", "--header", "--data", "--helo", "--starttls", "--tls",
        "--cafile", "--insecure", "--auth-user", "--auth-password", "--timeout", "--quiet",
        "--transcript",
    ):  # fmt: skip
        assert option in result.out
    for status in ExitStatus:
        assert f"  {status.value}  " in result.out
    assert "POSTIER_SERVER" in result.out


def test_a_terminal_is_told_how_to_end_the_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("Dear you,\n..x\nFrom me\n.\nnot this\n"))
    assert read_stdin_text() == "Dear you,\n..x\nFrom me\n"
    assert "a single '.'" in capsys.readouterr().err


def test_a_pipe_is_read_to_its_end_dots_and_all(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "one\n.\ntwo\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert read_stdin_text() == text


def test_input_that_is_not_utf8(send_cli: RunCli) -> None:
    result = send_cli("--from", "a@b.c", "--to", "x@y.z", stdin=b"caf\xe9\n")
    assert result.status == ExitStatus.USAGE
    assert result.err == (
        "postier: standard input is not UTF-8 text (send it with --data or --attach)\n"
    )


def test_auth_in_clear_to_another_host_warns(
    start_smtpd: StartSmtpd, send_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtpd = start_smtpd(auth=True)
    # Loopback never warns; pretend the peer is elsewhere to see the warning.
    monkeypatch.setattr(Client, "peer_is_loopback", property(lambda self: False))
    result = send_cli(
        "--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z", "--body", "hi",
        "--auth-user", USER, "--auth-password", PASSWORD, "--quiet",
    )  # fmt: skip
    assert result.status == ExitStatus.OK
    assert result.err == (
        "postier: warning: AUTH over an unencrypted connection to 127.0.0.1: "
        "use --starttls or --tls\n"
    )
    assert result.out == ""


def test_the_password_may_come_from_the_environment(
    start_smtpd: StartSmtpd, send_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtpd = start_smtpd(auth=True)
    monkeypatch.setenv("POSTIER_AUTH_PASSWORD", PASSWORD)
    result = send_cli(
        "--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z", "--body", "hi",
        "--auth-user", USER,
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    assert len(smtpd.handler.messages) == 1


REPLY = Reply(550, ("no",), "5.0.0")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConnectError("x"), ExitStatus.CANNOT_CONNECT),
        (TlsError("x"), ExitStatus.TLS),
        (AuthenticationError("x", REPLY), ExitStatus.AUTH),
        (ClientTimeoutError("x"), ExitStatus.TIMEOUT),
        (ConnectionLostError("x"), ExitStatus.PROTOCOL),
        (ProtocolViolationError("x"), ExitStatus.PROTOCOL),
        (ServiceRefusedError("x", REPLY), ExitStatus.REFUSED),
        (SenderRefusedError("x", REPLY), ExitStatus.REFUSED),
        (RecipientsRefusedError("x", {"a@b.c": REPLY}, REPLY, "RCPT"), ExitStatus.REFUSED),
        (DataRefusedError("x", REPLY), ExitStatus.REFUSED),
        (NotSupportedError("x", REPLY), ExitStatus.REFUSED),
        (ClientError("x"), ExitStatus.ERROR),
    ],
)
def test_each_error_has_its_status(error: ClientError, status: ExitStatus) -> None:
    assert status_of(error) is status


def test_errors_carry_the_reply() -> None:
    error = SenderRefusedError("refused", REPLY, "MAIL FROM:<a@b.c>")
    assert (error.code, error.enhanced, error.text, error.command) == (
        550, "5.0.0", "no", "MAIL FROM:<a@b.c>"
    )  # fmt: skip
    assert (ConnectError("x").code, ConnectError("x").text) == (None, "")


def _python() -> list[str]:
    return [sys.executable, "-m", "postier", "send", "--timeout", "10"]


def _env() -> dict[str, str]:
    """This environment without POSTIER_* settings, the sources first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(src), env.get("PYTHONPATH", "")])
    return env


def test_the_command_itself_with_a_pipe(start_smtpd: StartSmtpd) -> None:
    smtpd = start_smtpd()
    done = subprocess.run(
        [*_python(), "--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z"],
        input=b"piped\n.\nbody\n",
        capture_output=True,
        check=False,
        env=_env(),
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    (received,) = smtpd.handler.messages
    assert received.content.endswith(b"\r\n\r\npiped\r\n.\r\nbody\r\n")


def test_the_command_itself_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [*_python(), "--server", f"127.0.0.1:{port}", "--from", "a@b.c", "--to", "x@y.z"],
        input=b"hi\n",
        capture_output=True,
        check=False,
        env=_env(),
        timeout=30,
    )
    assert done.returncode == ExitStatus.CANNOT_CONNECT
    assert (
        done.stderr.decode() == f"postier: cannot connect to 127.0.0.1:{port}: Connection refused\n"
    )
    assert done.stdout == b""
