"""Replies sent late on purpose (`--chaos delay=SECONDS`), in order, without blocking.

Each write waits on the event loop (`call_at`), never in a sleep: the other sessions go
on meanwhile. Writes keep their order however the delay changes (a FIFO, one timer for
its head), and a close waits behind the writes queued before it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

CLOSE: Final = None
"""Queued in place of data: close the transport once what came before is written."""
BACKLOG: Final = 64 * 1024
"""Bytes held back past which the session stops reading (as when the transport's own
buffer is full): a client pipelining without end cannot grow the queue without bound."""


class LateWriter:
    """The writes of one session to its transport, each `delay` seconds late."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_flushed: Callable[[], None] = lambda: None
    ) -> None:
        self._loop = loop
        self._on_flushed = on_flushed
        """Called after each late write: the session may read again."""
        self._queue: deque[tuple[float, asyncio.Transport, bytes | None]] = deque()
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._drained: asyncio.Future[None] | None = None

    @property
    def pending(self) -> bool:
        return bool(self._queue)

    @property
    def backlogged(self) -> bool:
        """So much waits that the session must stop reading until it is written."""
        return self._bytes > BACKLOG

    def write(self, transport: asyncio.Transport, data: bytes, delay: float) -> None:
        if delay <= 0 and not self._queue:
            transport.write(data)  # the usual case: no chaos, no cost
            return
        self._push(transport, data, delay)

    def close(self, transport: asyncio.Transport) -> None:
        """Close once every write queued before is made (at once when none is)."""
        if not self._queue:
            transport.close()
            return
        self._push(transport, CLOSE, 0.0)

    async def drained(self) -> None:
        """Until every write queued so far is made (before a TLS handshake, say)."""
        if not self._queue:
            return
        if self._drained is None:
            self._drained = self._loop.create_future()
        await self._drained

    def cancel(self) -> None:
        """The connection is gone: nothing more is written."""
        self._queue.clear()
        self._bytes = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()

    def _push(self, transport: asyncio.Transport, data: bytes | None, delay: float) -> None:
        due = self._loop.time() + max(delay, 0.0)
        if self._queue:
            due = max(due, self._queue[-1][0])  # never before what is already queued
        self._queue.append((due, transport, data))
        self._bytes += len(data or b"")
        if self._timer is None:
            self._timer = self._loop.call_at(due, self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now:
            _, transport, data = self._queue.popleft()
            self._bytes -= len(data or b"")
            if transport.is_closing():
                continue
            if data is CLOSE:
                transport.close()
            else:
                transport.write(data)
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)
        else:
            self._wake()
        self._on_flushed()

    def _wake(self) -> None:
        if self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
            self._drained = None
