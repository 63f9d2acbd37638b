"""Replies sent late on purpose: in order whatever the delay does, a close behind the
writes before it, a bound on what waits, and nothing written once cancelled."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from postier.server.late_writer import BACKLOG, LateWriter


class Transport:
    """What the writer uses of a transport, recording each call with its loop time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: list[tuple[float, bytes | None]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        assert not self.closing
        self.calls.append((self.loop.time(), data))

    def close(self) -> None:
        self.closing = True
        self.calls.append((self.loop.time(), None))

    def is_closing(self) -> bool:
        return self.closing


def run(scenario: Any) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_no_delay_writes_at_once() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport = Transport(loop)
        writer = LateWriter(loop)
        writer.write(cast(asyncio.Transport, transport), b"220 hi\r\n", 0)
        assert transport.calls == [(transport.calls[0][0], b"220 hi\r\n")]
        writer.close(cast(asyncio.Transport, transport))
        assert transport.closing

    run(scenario)


def test_late_writes_keep_their_order_and_the_close_waits_for_them() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport = Transport(loop)
        flushed: list[int] = []
        writer = LateWriter(loop, on_flushed=lambda: flushed.append(1))
        t = cast(asyncio.Transport, transport)
        start = loop.time()
        writer.write(t, b"1", 0.2)
        writer.write(t, b"2", 0.05)  # a shorter delay must not overtake
        writer.write(t, b"3", 0)  # nor no delay at all, while writes wait
        writer.close(t)
        assert transport.calls == [] and writer.pending
        await writer.drained()
        assert [data for _, data in transport.calls] == [b"1", b"2", b"3", None]
        assert all(when - start >= 0.2 - 0.01 for when, _ in transport.calls)
        assert flushed and not writer.pending

    run(scenario)


def test_what_waits_is_bounded() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        writer = LateWriter(loop)
        t = cast(asyncio.Transport, Transport(loop))
        writer.write(t, b"x" * BACKLOG, 0.05)
        assert not writer.backlogged
        writer.write(t, b"y", 0.05)
        assert writer.backlogged  # the session stops reading here
        await writer.drained()
        assert not writer.backlogged

    run(scenario)


def test_nothing_is_written_once_cancelled() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport = Transport(loop)
        writer = LateWriter(loop)
        writer.write(cast(asyncio.Transport, transport), b"late", 0.05)
        writer.cancel()
        await writer.drained()
        await asyncio.sleep(0.1)
        assert transport.calls == [] and not writer.backlogged

    run(scenario)
