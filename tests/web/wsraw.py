"""A WebSocket client by hand, for tests that must see the server's bytes as they are
on the wire (RFC 6455): the opening handshake on a plain socket, masked frames to send,
and a parser of the server's frames written from §5.2, not taken from aiohttp.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

TEXT = 0x1
CLOSE = 0x8
PING = 0x9
PONG = 0xA

UPGRADE = (
    b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


@dataclass(frozen=True, slots=True)
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int:
        """A close frame's status code (§5.5.1: its payload's first two bytes)."""
        assert self.opcode == CLOSE and len(self.payload) >= 2
        return int(struct.unpack("!H", self.payload[:2])[0])


def parse(data: bytes) -> tuple[list[Frame], bytes]:
    """The whole frames at the start of `data` (a server's: unmasked), and the rest."""
    frames: list[Frame] = []
    at = 0
    while len(data) - at >= 2:
        first, second = data[at], data[at + 1]
        assert not second & 0x80, "a server's frame is never masked (§5.1)"
        length, head = second & 0x7F, 2
        if length == 126:
            if len(data) - at < 4:
                break
            (length,) = struct.unpack_from("!H", data, at + 2)
            assert length > 125, "the minimal length encoding must be used (§5.2)"
            head = 4
        elif length == 127:
            if len(data) - at < 10:
                break
            (length,) = struct.unpack_from("!Q", data, at + 2)
            assert 0xFFFF < length < 2**63, "the minimal length encoding must be used (§5.2)"
            head = 10
        if len(data) - at < head + length:
            break
        payload = data[at + head : at + head + length]
        frames.append(Frame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, payload))
        at += head + length
    return frames, data[at:]


def masked(opcode: int, payload: bytes) -> bytes:
    """A client's final frame (§5.3: a client masks every frame)."""
    mask = os.urandom(4)
    if len(payload) <= 125:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload))
    elif len(payload) <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, len(payload))
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, len(payload))
    body = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
    return head + mask + body


def handshake(sock: socket.socket) -> bytes:
    """Open the WebSocket on `sock`; the bytes that came after the 101's head."""
    sock.sendall(UPGRADE)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed in the handshake: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"sec-websocket-extensions" not in head.lower(), "no extension is agreed"
    return rest
