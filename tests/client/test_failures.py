"""Servers that refuse, stall, hang up or break the protocol: one line and the right exit status."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from postier.cli.send import ExitStatus
from postier.client import ClientTimeoutError, ConnectError, SyncClient
from tests.client.conftest import RunCli, StartScripted
from tests.client.servers import CLOSE, SILENCE, BackgroundLoop


def args(port: int, *extra: str) -> tuple[str, ...]:
    server = f"127.0.0.1:{port}"
    return ("--server", server, "--from", "a@b.c", "--to", "x@y.z", "--body", "hi", *extra)


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.rstrip("\n")


def test_connection_refused(send_cli: RunCli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now: the connection is refused.
    result = send_cli(*args(port))
    assert result.status == ExitStatus.CANNOT_CONNECT
    assert (
        one_line(result.err) == f"postier: cannot connect to 127.0.0.1:{port}: Connection refused"
    )


def test_connection_refused_through_the_api() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SyncClient("127.0.0.1", port, timeout=5)
    with pytest.raises(ConnectError):
        client.connect()
    client.close()


def test_a_server_that_accepts_and_says_nothing(
    background: BackgroundLoop, send_cli: RunCli
) -> None:
    # A bare asyncio server: it accepts the connection and never writes a byte.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        finally:  # also when the loop's stop cancels us before the client's close arrives
            writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(silent, "127.0.0.1", 0)

    server = background.run(start())
    try:
        port = server.sockets[0].getsockname()[1]
        began = time.monotonic()
        result = send_cli(*args(port, "--timeout", "0.5"))
        elapsed = time.monotonic() - began
    finally:
        background.loop.call_soon_threadsafe(server.close)
    assert result.status == ExitStatus.TIMEOUT
    assert one_line(result.err) == "postier: the server did not answer the greeting within 0.5 s"
    assert 0.4 < elapsed < 5


def test_a_server_that_stalls_mid_dialogue(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(RCPT=SILENCE)
    # Long enough for the steps before to pass on a busy machine, short for the test.
    result = send_cli(*args(server.port, "--timeout", "2"))
    assert result.status == ExitStatus.TIMEOUT
    assert one_line(result.err) == "postier: the server did not answer RCPT TO:<x@y.z> within 2 s"


def test_the_sync_api_times_out_too(scripted: StartScripted) -> None:
    server = scripted(GREETING=SILENCE)
    client = SyncClient("127.0.0.1", server.port, timeout=0.3)
    with pytest.raises(ClientTimeoutError) as timed_out:
        client.connect()
    client.close()
    assert timed_out.value.code is None
    assert "the greeting" in str(timed_out.value)


def test_a_refused_greeting(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(GREETING=b"554 5.7.1 no service for you\r\n")
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.REFUSED
    assert one_line(result.err) == "postier: server refused service: 554 5.7.1 no service for you"
    assert server.lines == [b"QUIT\r\n"]  # RFC 5321 §3.1


def test_helo_when_ehlo_is_unknown(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(EHLO=b"502 5.5.1 EHLO not implemented\r\n")
    result = send_cli(*args(server.port, "--helo", "client.test"))
    assert result.status == ExitStatus.OK, result.err
    assert server.lines[:3] == [
        b"EHLO client.test\r\n",
        b"HELO client.test\r\n",
        b"MAIL FROM:<a@b.c>\r\n",
    ]


def test_ehlo_and_helo_refused(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(EHLO=b"500 no\r\n", HELO=b"550 5.7.1 go away\r\n")
    result = send_cli(*args(server.port, "--helo", "client.test"))
    assert result.status == ExitStatus.REFUSED
    assert one_line(result.err) == "postier: server refused HELO client.test: 550 5.7.1 go away"


def test_the_data_command_refused(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(DATA=b"554 5.5.1 no valid recipients\r\n")
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.REFUSED
    assert one_line(result.err) == "postier: server refused DATA: 554 5.5.1 no valid recipients"
    assert b"RSET\r\n" in server.lines  # the accepted sender is cleared before QUIT


def test_421_closes_the_dialogue(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(RCPT=b"421 4.3.2 shutting down\r\n")
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.REFUSED
    assert one_line(result.err) == (
        "postier: server closed the connection at MAIL FROM:<a@b.c>: 421 4.3.2 shutting down"
    )


def test_a_server_that_hangs_up(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(MAIL=CLOSE)
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.PROTOCOL
    assert one_line(result.err) == (
        "postier: the server closed the connection at MAIL FROM:<a@b.c>"
    )


def test_a_server_that_does_not_speak_smtp(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(GREETING=b"SSH-2.0-OpenSSH_9.6\r\n")
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.PROTOCOL
    assert one_line(result.err).startswith("postier: the server broke the protocol (malformed")


def test_a_reply_that_does_not_fit(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(DATA=b"250 sure\r\n")
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.PROTOCOL
    assert "reply 250 does not fit DATA" in one_line(result.err)


def test_plain_text_injected_after_starttls(scripted: StartScripted, send_cli: RunCli) -> None:
    server = scripted(
        EHLO=b"250-scripted.test\r\n250 STARTTLS\r\n",
        STARTTLS=b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n",
    )
    result = send_cli(*args(server.port, "--starttls", "--insecure"))
    assert result.status == ExitStatus.PROTOCOL
    assert "after the reply to STARTTLS" in one_line(result.err)


def test_port_587_goes_on_in_clear_with_a_warning_when_tls_is_not_offered(
    scripted: StartScripted, send_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = scripted()
    # The port decides the default: pretend the server's port is the submission port.
    monkeypatch.setattr("postier.cli.send.SUBMISSION_PORT", server.port)
    result = send_cli(*args(server.port))
    assert result.status == ExitStatus.OK
    assert result.err == (
        f"postier: warning: port {server.port} offers no STARTTLS: the message goes in clear\n"
    )
