"""RETR of a large message streams from the store: the server's memory does not grow with
the message, and a client that reads slowly holds no more of it in the server either."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postier.store import Envelope, Spool, open_store
from tests.conftest import StartServer
from tests.support.pop3 import POP3_ARGS, pop3_address

USER = "big@exemple.fr"
MIB = 1 << 20
SIZE = 64 * MIB
LINES = (b"x" * 75 + b"\n") * 9 + b"." + b"y" * 74 + b"\n"


def file_large_message(store: Path, fmt: str) -> None:
    """A message of about SIZE octets for USER, LF lines, one in ten starting with "."."""
    block = LINES * 1000
    spool = Spool(memory_limit=MIB)
    for _ in range(SIZE // len(block)):
        spool.write(block)
    envelope = Envelope(
        sender="s@exemple.fr", recipients=(USER,), helo="t", peer_ip="127.0.0.1",
        server_name="t", protocol="ESMTP", queue_id="BIG", received_at=datetime.now(UTC),
    )  # fmt: skip
    with open_store(store, fmt) as mail:  # type: ignore[arg-type]
        mail.deliver(envelope, spool)
    spool.close()


def memory(pid: int, key: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"{key}:\s+(\d+) kB", text)
    assert found is not None
    return int(found[1]) * 1024


def read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "closed"
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line


def read_message(sock: socket.socket, buffer: bytearray) -> tuple[int, int]:
    """Read a multi-line response to its end: its octets unstuffed, and its stuffed lines."""
    octets = stuffed = 0
    while True:
        end = buffer.rfind(b"\r\n")
        if end >= 0:
            lines = bytes(buffer[:end]).split(b"\r\n")
            del buffer[: end + 2]
            for line in lines:
                if line == b".":
                    return octets, stuffed
                dotted = line.startswith(b".")
                stuffed += dotted
                octets += len(line) - dotted + 2
        chunk = sock.recv(1 << 20)
        assert chunk, "closed in the middle of the message"
        buffer += chunk


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_retr_of_a_large_message_keeps_the_server_small(
    start_server: StartServer, tmp_path: Path, fmt: str
) -> None:
    store = tmp_path / "mail"
    file_large_message(store, fmt)
    server = start_server(*POP3_ARGS, "--format", fmt, store=store)
    assert server.process is not None
    pid = server.process.pid
    with socket.create_connection(pop3_address(server), timeout=60) as sock:
        buffer = bytearray()
        read_line(sock, buffer)
        sock.sendall(f"USER {USER}\r\nPASS x\r\nRETR 1\r\n".encode())
        for _ in range(2):
            assert read_line(sock, buffer).startswith(b"+OK")
        # The login read the message once (its size on the wire): the peak so far.
        before = memory(pid, "VmHWM")
        head = read_line(sock, buffer)
        size = int(head.split()[1])
        assert head == b"+OK %d octets" % size
        # A slow reader: the server sends no more than the socket takes meanwhile.
        time.sleep(1.0)
        held = memory(pid, "VmRSS")
        octets, stuffed = read_message(sock, buffer)
        sock.sendall(b"QUIT\r\n")
    after = memory(pid, "VmHWM")
    assert after - before < 16 * MIB, f"peak grew by {(after - before) // MIB} MiB"
    assert held - before < 16 * MIB
    assert octets == size > SIZE
    # Every line that starts with "." was stuffed: one a block of ten lines.
    assert stuffed == SIZE // len(LINES * 1000) * 1000
