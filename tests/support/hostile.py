"""Tools for hostile-client tests: raw sockets, kernel queues, the server's memory.

What a client sent is not what the server read: loopback buffers hold megabytes. The
kernel's own counters (the sender's unsent bytes, the receiver's unread ones in
/proc/net/tcp) tell how much the server really took in, without asking the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import resource
import selectors
import socket
import struct
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.smtp import Reply

REPLY_LINE = re.compile(rb"(\d{3})([ -])(.*)")
_ENHANCED = re.compile(rb"([245]\.\d{1,3}\.\d{1,3})(?: |$)")
_ESTABLISHED = "01"


def raise_open_file_limit(wanted: int) -> int:
    """Lift this process's soft limit on open files towards `wanted` (never past the
    hard limit); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def vm_rss(pid: int) -> int:
    """The resident memory of process `pid`, in bytes (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def unread_by_server(port: int) -> int:
    """Bytes waiting in the receive queues of the established connections whose local
    port is `port` (IPv4): what clients sent that the server has not read yet."""
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == _ESTABLISHED and int(local.rsplit(":", 1)[1], 16) == port:
            total += int(queues.split(":")[1], 16)
    return total


def unsent(sock: socket.socket) -> int:
    """Bytes this socket's send queue still holds (not yet taken by the peer's kernel)."""
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", raw)[0])


def reset_close(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER on, zero seconds)."""
    with contextlib.suppress(OSError):  # already reset by the peer: only closing is left
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def narrow_connection(address: tuple[str, int], timeout: float = 10.0) -> socket.socket:
    """A connection whose kernel takes in little of what the server sends.

    Loopback buffers hold megabytes: a client that never reads its replies would have
    the kernel, not the server, hold them. A small receive window and small segments
    (the server's send buffer is sized in segments) leave the server's own buffers to
    fill, which is what a test of its memory needs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def read_reply(sock: socket.socket) -> Reply:
    """Read one whole reply, the server saying nothing more unasked (no pipelining)."""
    data = b""
    lines: list[bytes] = []
    while not (data.endswith(b"\r\n") and lines[-1][3:4] == b" "):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"server closed the connection; unread: {data!r}")
        data += chunk
        lines = reply_lines(data)
    text = tuple(line[4:].decode("utf-8", "replace") for line in lines)
    return Reply(int(lines[-1][:3]), text)


def command(sock: socket.socket, line: bytes | str) -> Reply:
    """Send one command line and read its reply."""
    sock.sendall((line.encode() if isinstance(line, str) else line) + b"\r\n")
    return read_reply(sock)


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True when the server closes within `timeout` without sending anything more."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def connect_from(source_ip: str, address: tuple[str, int], timeout: float = 10.0) -> socket.socket:
    """A connection to `address` from `source_ip` (any 127.x.y.z is loopback on Linux)."""
    return socket.create_connection(address, timeout=timeout, source_address=(source_ip, 0))


def reply_lines(data: bytes) -> list[bytes]:
    """The complete lines of `data`; AssertionError if one is not an SMTP reply line."""
    lines = data.split(b"\r\n")[:-1]
    for line in lines:
        assert REPLY_LINE.fullmatch(line), f"not a reply line: {line[:200]!r}"
    return lines


def last_reply(data: bytes) -> tuple[int, str | None] | None:
    """The code and enhanced code of the last complete reply line in `data`, if any."""
    lines = reply_lines(data)
    if not lines:
        return None
    match = REPLY_LINE.fullmatch(lines[-1])
    assert match is not None
    enhanced = _ENHANCED.match(match[3])
    return int(match[1]), enhanced[1].decode() if enhanced else None


def pump(
    sockets: Sequence[socket.socket],
    chunk: Callable[[int], bytes],
    quota: int,
    *,
    stall: float,
    deadline: float,
) -> list[int]:
    """Send to every socket at once, without reading, until each has sent `quota` bytes,
    nothing could be sent for `stall` seconds, or `deadline` (monotonic) has come.

    `chunk(index)` gives the next bytes for socket `index`; bytes the kernel does not take
    are offered again. Returns the bytes each socket sent.
    """
    sent = [0] * len(sockets)
    pending = [b""] * len(sockets)
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(sockets):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_WRITE, index)
        progress = time.monotonic()
        while selector.get_map() and time.monotonic() < deadline:
            ready = selector.select(timeout=0.1)
            now = time.monotonic()
            if not ready and now - progress > stall:
                break
            for key, _ in ready:
                index = key.data
                data = pending[index] or chunk(index)[: quota - sent[index]]
                try:
                    count = key.fileobj.send(data)  # type: ignore[union-attr]
                except BlockingIOError:
                    count = 0
                pending[index] = data[count:]
                sent[index] += count
                if count:
                    progress = now
                if sent[index] >= quota:
                    selector.unregister(key.fileobj)
    return sent
