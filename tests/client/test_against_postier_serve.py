"""`postier send` against a real `postier serve` (a subprocess on loopback), read from its store.

These need the server of `postier.server`; the store is read with Python's `mailbox`
module (tests.support.mailboxes), not with postier's own code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postier.cli.send import ExitStatus
from tests.client.conftest import RunCli, StartProxy
from tests.client.reading import parsed
from tests.conftest import StartServer
from tests.support.mailboxes import messages, split_trace
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles

BODY = "First line\nFrom me\n.\n..x\n>From quoted\nlast line\n"


def stored(server: ServerProcess, address: str) -> list[bytes]:
    """Each message in `address`'s mbox, trace headers off."""
    return [split_trace(m)[1] for m in messages(server.store, address, "mbox")]


def test_a_message_lands_in_the_mailbox(server: ServerProcess, send_cli: RunCli) -> None:
    result = send_cli(
        "--server", f"{server.host}:{server.port}",
        "--from", "Zoë <zoe@example.com>", "--to", "you@example.org",
        "--subject", "Crème brûlée", "--body", BODY,
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    assert "Ok: stored as" in result.out
    (message,) = stored(server, "you@example.org")
    back = parsed(message)
    assert back["Subject"] == "Crème brûlée"
    assert back.get_content() == BODY
    assert message.split(b"\n\n", 1)[1] == BODY.encode()


def test_pipelining_against_postier(
    server: ServerProcess, send_cli: RunCli, counting_proxy: StartProxy
) -> None:
    proxy = counting_proxy(server.port)
    result = send_cli(
        "--server", f"127.0.0.1:{proxy.port}", "--from", "a@b.c",
        "--to", "x@y.z", "--to", "q@r.s", "--to", "t@u.v", "--body", "hi",
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    # EHLO; MAIL + 3 RCPT + DATA in one write (RFC 2920); the message; QUIT.
    assert proxy.round_trips == 4
    for address in ("x@y.z", "q@r.s", "t@u.v"):
        assert len(stored(server, address)) == 1


def test_starttls_against_postier(
    start_server: StartServer, tls_files: TlsFiles, send_cli: RunCli
) -> None:
    server = start_server("--tls-cert", str(tls_files.pem))
    result = send_cli(
        "--server", f"127.0.0.1:{server.port}", "--from", "a@b.c", "--to", "x@y.z",
        "--body", "over TLS", "--starttls", "--cafile", str(tls_files.ca_pem), "--transcript",
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    assert "*: TLS started" in result.out
    (message,) = stored(server, "x@y.z")
    assert parsed(message).get_content() == "over TLS\n"
    (raw,) = messages(server.store, "x@y.z", "mbox")
    assert " with ESMTPS " in split_trace(raw)[0]["Received"]


def test_recipients_over_the_limit_go_in_a_second_transaction(
    start_server: StartServer, send_cli: RunCli
) -> None:
    # RFC 5321 §4.5.3.1.10: 452 for the recipients past the limit, sent again later.
    server = start_server("--max-recipients", "2")
    result = send_cli(
        "--server", f"127.0.0.1:{server.port}", "--from", "a@b.c",
        "--to", "x@y.z", "--to", "q@r.s", "--to", "t@u.v", "--body", "hi",
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    for address in ("x@y.z", "q@r.s", "t@u.v"):
        assert len(stored(server, address)) == 1


def test_the_servers_size_limit_is_respected(start_server: StartServer, send_cli: RunCli) -> None:
    server = start_server("--max-size", "1K")
    result = send_cli(
        "--server", f"127.0.0.1:{server.port}", "--from", "a@b.c", "--to", "x@y.z",
        "--body", "x" * 2000,
    )  # fmt: skip
    assert result.status == ExitStatus.REFUSED
    assert "the server takes at most 1024 (SIZE)" in result.err
    assert stored(server, "x@y.z") == []


@pytest.mark.slow
def test_a_20_mb_message_to_postier(
    server: ServerProcess, send_cli: RunCli, tmp_path: Path
) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(15 * 1024 * 1024))
    result = send_cli(
        "--server", f"127.0.0.1:{server.port}", "--from", "a@b.c", "--to", "x@y.z",
        "--body", "big", "--attach", str(blob), "--timeout", "60",
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    (message,) = stored(server, "x@y.z")
    assert len(message) > 20_000_000
    (attachment,) = parsed(message).iter_attachments()
    assert attachment.get_content() == blob.read_bytes()
