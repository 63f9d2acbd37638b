"""The WebSocket clients of `/api/events` that `web_bench.py` opens: one that reads and
checks every frame, and any number that only take the bytes.

The benchmark runs on the same cores as the server it measures (two, on the machine it
was written for). A hundred clients that each parse every frame in Python (aiohttp's
reader, then `json.loads`) cost this process about as much CPU as the server's fan-out
costs the server, and the ratio measured would be as much theirs as the server's. A
browser's tab costs the server nothing of the sort, so one client parses and checks the
frames (and records the `new` ones for the latency), and the others read raw bytes
after the handshake and drop them: one `data_received` a read, no parse.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from typing import Any

UPGRADE = (
    b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
KEEPALIVE = 10.0
"""Seconds between a raw reader's unsolicited pongs."""


def unsolicited_pong() -> bytes:
    """An empty pong, masked as a client's frames are (RFC 6455 §5.3): §5.5.3 lets it be
    sent unasked, as a heartbeat of its own."""
    return b"\x8a\x80" + os.urandom(4)


class RawReader(asyncio.Protocol):
    """A socket opened by hand that counts what it is sent. Its pong every `KEEPALIVE`
    seconds is data, which resets the server's heartbeat: it is never pinged, so it has
    no ping to find among the frames and answer."""

    def __init__(self) -> None:
        self.received = 0
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(UPGRADE)
        self._keep()

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            if not data.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(f"not opened: {data[:80]!r}"))
                return
            self.opened.set_result(None)
        self.received += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed in the handshake"))

    def _keep(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(unsolicited_pong())
            self._timer = asyncio.get_running_loop().call_later(KEEPALIVE, self._keep)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._transport.close()


class Sockets:
    """`count` sockets on `/api/events` of `address`: the first an aiohttp client that
    parses and checks every frame (and records its `new` ones in `frames`, when given),
    the others `RawReader`s."""

    def __init__(self, frames: list[tuple[float, Any]] | None) -> None:
        self.frames = frames
        self.kinds: Counter[str] = Counter()
        self.bad = 0
        """Frames the checking client found not to be `{"Type", "Data"}` JSON texts."""
        self.total = -1
        """The store's count in the last `stats` frame."""
        self.raw: list[RawReader] = []
        self._session: Any = None
        self._ws: Any = None
        self._checker: asyncio.Task[None] | None = None

    async def open(self, address: str, count: int) -> Sockets:
        import aiohttp

        self._session = aiohttp.ClientSession()
        self._ws = ws = await self._session.ws_connect(f"http://{address}/api/events")
        self._checker = asyncio.create_task(self._check(ws))
        host, port = address.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        for _ in range(count - 1):
            _, reader = await loop.create_connection(RawReader, host, int(port))
            self.raw.append(reader)
        await asyncio.gather(*(reader.opened for reader in self.raw))
        return self

    async def _check(self, ws: Any) -> None:
        import aiohttp

        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                self.bad += 1
                continue
            frame = json.loads(message.data)
            if not isinstance(frame, dict) or set(frame) != {"Type", "Data"}:
                self.bad += 1
                continue
            self.kinds[frame["Type"]] += 1
            if frame["Type"] == "stats":
                self.total = frame["Data"]["Total"]
            elif frame["Type"] == "new" and self.frames is not None:
                self.frames.append((time.perf_counter(), frame["Data"]))

    async def settle(self, total: int, timeout: float = 30) -> str:
        """Wait for the checking client to be told the store holds `total`; what it and
        the raw readers were sent."""
        deadline = time.monotonic() + timeout
        while self.total != total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the raw readers' last bytes
        sizes = [reader.received for reader in self.raw] or [0]
        return (
            f"checked socket: {self.kinds['new']} new, {self.kinds['stats']} stats, "
            f"{self.bad} bad, total {self.total}/{total}; raw sockets: "
            f"{min(sizes)}-{max(sizes)} bytes each"
        )

    async def close(self) -> None:
        for reader in self.raw:
            reader.close()
        if self._ws is not None:
            await self._ws.close()
        if self._checker is not None:
            self._checker.cancel()
        if self._session is not None:
            await self._session.close()
