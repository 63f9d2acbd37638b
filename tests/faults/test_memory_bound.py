"""Memory stays bounded whatever a client sends: RSS per hostile connection, measured.

A hundred connections each do one hostile thing and hold it: a command line that never
ends, a message that never ends, a flood of commands whose replies are never read. The
kernel's counters prove the server really read what was sent (loopback buffers hold
megabytes), then its VmRSS is compared with the one before.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.conftest import StartServer
from tests.support.hostile import (
    command,
    narrow_connection,
    pump,
    raise_open_file_limit,
    read_reply,
    reset_close,
    unread_by_server,
    unsent,
    vm_rss,
)
from tests.support.mailboxes import mbox_messages
from tests.support.server import ServerProcess
from tests.support.smtp import connect

CONNECTIONS = 100
KIB = 1024
MIB = 1024 * KIB
SPOOL_MEMORY = MIB
"""What the server keeps of a message in memory; past it, the message moves to a file."""
HELD = SPOOL_MEMORY - 64 * KIB
"""A message just short of moving to a file: the most memory one message holds."""
QUOTA = 3 * SPOOL_MEMORY
"""What each connection of the endless cases sends."""
FLOOD_QUOTA = 512 * KIB
"""At most this much of pipelined commands per connection: with no guard on the replies,
a server that read it all would queue some 12 MiB of them per connection."""
VICTIM = "victim@test.com"
TIMEOUT = 60
"""The per-line deadline: far longer than a case, so that no connection is cut under it."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def plain_connection(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def endless_line(sock: socket.socket) -> None:
    sock.sendall(b"NOOP ")


def endless_message(sock: socket.socket, recipient: str = VICTIM) -> None:
    assert command(sock, b"MAIL FROM:<hostile@test.com>").code == 250
    assert command(sock, f"RCPT TO:<{recipient}>").code == 250
    assert command(sock, b"DATA").code == 354
    sock.sendall(b"Subject: it never ends\r\n\r\n")


def pipelining(sock: socket.socket) -> None:
    del sock  # the flood starts right after EHLO


_LINE = b"x" * 64 * KIB
_DATA = b"".join(
    b"%05d never ending message, every line well within limits\r\n" % n for n in range(1000)
)
_FLOOD = b"HELP\r\nNOOP\r\n" * 5000


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    connect: Callable[[tuple[str, int]], socket.socket]
    setup: Callable[[socket.socket], None]
    chunk: bytes
    quota: int
    bound: int
    """RSS growth allowed per connection."""
    reads_all: bool
    """The server must read every byte sent (False: it may stop, and should)."""


SMALL = 400 * KIB
"""Growth allowed per connection that holds no message: a read chunk and the replies."""
MESSAGE = 1536 * KIB
"""Growth allowed per connection inside DATA: the in-memory spool and a read chunk."""

CASES = [
    Case("endless command line", plain_connection, endless_line, _LINE, QUOTA, SMALL, True),
    Case("message held in memory", plain_connection, endless_message, _DATA, HELD, MESSAGE, True),
    Case("endless message", plain_connection, endless_message, _DATA, QUOTA, MESSAGE, True),
    Case("unread replies", narrow_connection, pipelining, _FLOOD, FLOOD_QUOTA, SMALL, False),
]  # fmt: skip
FLOOD_TAKEN = 32 * KIB
"""The server must take in at least this much of each flood: every 12 octets of it call
for some 150 octets of replies, so a server that kept them all would pass the bound."""


def settled_rss(pid: int) -> int:
    """VmRSS once it stops moving (two readings 0.2 s apart within 1%), or after 3 s."""
    previous = vm_rss(pid)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.2)
        current = vm_rss(pid)
        if abs(current - previous) <= previous // 100:
            return current
        previous = current
    return previous


def warm_up(server: ServerProcess) -> None:
    """Run every code path once (a spool moved to a file included), so that the baseline
    holds the imports and caches a first hostile client would otherwise bring in."""
    with plain_connection(server.address) as sock:
        assert read_reply(sock).code == 220
        assert command(sock, b"EHLO warm.test").code == 250
        for _ in range(3):
            assert command(sock, b"HELP").code == 214
        assert command(sock, b"NOOP " + b"x" * 100 * KIB).code == 500
        endless_message(sock, "warm@test.com")
        sock.sendall(_DATA * 24 + b".\r\n")  # about 1.6 MiB: past the in-memory spool
        assert read_reply(sock).code == 250
        assert command(sock, b"QUIT").code == 221


def server_read(sockets: list[socket.socket], sent: list[int], port: int) -> int:
    """Bytes the server has taken in: sent, less what sits in either side's kernel."""
    return sum(sent) - sum(unsent(sock) for sock in sockets) - unread_by_server(port)


def wait_until_read(
    sockets: list[socket.socket], sent: list[int], port: int, *, everything: bool
) -> int:
    """What the server read once it is done reading: all of it, or (when it may stop)
    once the count has not moved for a second. Fails after 20 s."""
    deadline = time.monotonic() + 20
    previous, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        read = server_read(sockets, sent, port)
        if everything and read == sum(sent):
            return read
        if read != previous:
            previous, since = read, time.monotonic()
        elif not everything and time.monotonic() - since >= 1.0:
            return read
        time.sleep(0.1)
    raise AssertionError(f"the server read {previous} of {sum(sent)} bytes and no more")


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    raise_open_file_limit(4 * CONNECTIONS)
    return start_server("--timeout", str(TIMEOUT), "--max-connections", str(2 * CONNECTIONS))


def hostile_clients(server: ServerProcess, case: Case, stack: ExitStack) -> Iterator[socket.socket]:
    for _ in range(CONNECTIONS):
        sock = case.connect(server.address)
        stack.callback(reset_close, sock)  # RST: nothing left for the server to send
        assert read_reply(sock).code == 220
        assert command(sock, b"EHLO hostile.test").code == 250
        case.setup(sock)
        yield sock


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_memory_per_hostile_connection_is_bounded(server: ServerProcess, case: Case) -> None:
    assert server.process is not None
    pid = server.process.pid
    warm_up(server)
    before = settled_rss(pid)
    with ExitStack() as stack:
        sockets = list(hostile_clients(server, case, stack))
        began = time.monotonic()
        # A server that must read everything gets time (its temporary files go through
        # the page cache, and writeback may hold it up); a flood's stop is expected.
        stall = 5.0 if case.reads_all else 1.0
        sent = pump(sockets, lambda _: case.chunk, case.quota, stall=stall, deadline=began + 25)
        read = wait_until_read(sockets, sent, server.port, everything=case.reads_all)
        elapsed = time.monotonic() - began
        after = settled_rss(pid)
        assert server.process.poll() is None, "the server died"
        growth = (after - before) / CONNECTIONS
        print(
            f"\n{case.name}: {CONNECTIONS} connections sent {sum(sent) / MIB:.1f} MiB,"
            f" the server read {read / MIB:.1f} MiB ({read / CONNECTIONS / KIB:.0f} KiB each)"
            f" in {elapsed:.1f}s; RSS {before / MIB:.1f} -> {after / MIB:.1f} MiB,"
            f" {growth / KIB:.0f} KiB per connection (bound {case.bound / KIB:.0f} KiB)"
        )
        if case.reads_all:
            short = [n for n in sent if n < case.quota]
            assert short == [], f"the server stopped reading {len(short)} clients, e.g. {short[:3]}"
        else:
            assert read >= FLOOD_TAKEN * CONNECTIONS, "the server hardly read the commands"
        assert growth <= case.bound, f"{growth / KIB:.0f} KiB per connection"
    # Every hostile client is gone; the server still serves.
    with connect(server.address) as client:
        assert client.command("NOOP").code == 250
    assert mbox_messages(server.store, VICTIM) == []  # no message ever ended
    assert "Traceback" not in server.log_text()
