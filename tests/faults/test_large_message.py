"""A 50 MB message is streamed through a spool and read into the index a chunk at a time:
the server's peak memory barely moves."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from postier.store.index.database import index_path
from tests.conftest import StartServer
from tests.support.mailboxes import mbox_path
from tests.support.server import ServerProcess
from tests.support.smtp import connect

LARGE = 50 * 1024 * 1024
ALLOWED_GROWTH = 8 * 1024 * 1024


def peak_rss(server: ServerProcess) -> int:
    """The server's high-water mark of resident memory, in bytes (Linux)."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def wait_indexed(store: Path, count: int, timeout: float = 60.0) -> None:
    """Wait until the server's index holds `count` messages (its indexer ran)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            uri = f"file:{index_path(store)}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                if conn.execute("SELECT count(*) FROM messages").fetchone()[0] >= count:
                    return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.05)
    raise AssertionError(f"the index did not reach {count} messages in {timeout} s")


def body_of(size: int) -> bytes:
    line = b"0123456789" * 7 + b"abcdefg\r\n"  # 79 octets
    return b"Subject: large\r\n\r\n" + line * (size // len(line))


def send(server: ServerProcess, message: bytes) -> None:
    with connect(server.address) as client:
        client.command("MAIL FROM:<a@test.com>")
        client.command("RCPT TO:<big@test.com>")
        assert client.command("DATA").code == 354
        client.send(message)
        client.send(b".\r\n")
        assert client.reply(timeout=60).code == 250


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_50_mb_message_does_not_raise_peak_memory(start_server: StartServer) -> None:
    server = start_server("--max-size", "64M")
    # A first message past the in-memory spool limit brings every buffer into play.
    send(server, body_of(4 * 1024 * 1024))
    wait_indexed(server.store, 1)
    before = peak_rss(server)
    message = body_of(LARGE)
    send(server, message)
    wait_indexed(server.store, 2)
    growth = peak_rss(server) - before
    print(f"\n50 MB message: server peak memory grew by {growth / 1e6:.1f} MB", end="")
    print(f" (from {before / 1e6:.1f} MB)")
    assert growth < ALLOWED_GROWTH, f"peak memory grew by {growth} bytes"
    # And it is stored whole.
    raw = mbox_path(server.store, "big@test.com").read_bytes()
    stored = message.replace(b"\r\n", b"\n")
    assert raw.count(b"\nSubject: large\n") == 2
    assert (
        hashlib.sha256(raw[raw.rindex(b"Subject: large\n") :]).digest()
        == hashlib.sha256(stored + b"\n").digest()
    )
