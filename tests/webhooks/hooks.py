"""A webhook endpoint for the tests: an aiohttp server on 127.0.0.1, on a thread of its
own, that records every POST and answers as each path is told to: 200 by default, the
statuses queued for it first (`fail`), or not at all until released (`hang`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

WAIT: float = 15.0
"""Seconds a test waits for a condition at most."""


@dataclass(frozen=True, slots=True)
class Post:
    """One request the endpoint received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HookServer:
    """Records each POST to any path; `url(path)` is where to send it."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        """Every request received, in order, answered or not yet."""
        self.current = 0
        self.peak = 0
        """Requests being answered at once: now, and at most so far."""
        self._statuses: dict[str, list[int]] = {}
        self._hanging: set[str] = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="hook-server")
        self.port = 0

    # -- what each path answers ---------------------------------------------------------

    def fail(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with `statuses`, in order, then 200."""
        with self._lock:
            self._statuses.setdefault(path, []).extend(statuses)

    def hang(self, path: str) -> None:
        """Hold every request to `path` unanswered until `release()` (or the end)."""
        with self._lock:
            self._hanging.add(path)

    def release(self) -> None:
        """Answer the held requests, and every later one at once."""
        self._loop.call_soon_threadsafe(self._released.set)

    # -- what it received ---------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str) -> list[Post]:
        with self._lock:
            return [post for post in self.posts if post.path == path]

    def wait_for(self, path: str, count: int, timeout: float = WAIT) -> list[Post]:
        """Poll until `count` requests to `path` came; those requests."""
        until(lambda: len(self.received(path)) >= count, f"{count} POSTs to {path}", timeout)
        return self.received(path)

    # -- the server ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        with self._lock:
            self.posts.append(Post(path, dict(request.headers), body))
            self.current += 1
            self.peak = max(self.peak, self.current)
            hanging = path in self._hanging
            queued = self._statuses.get(path, [])
            status = queued.pop(0) if queued else 200
        try:
            if hanging:
                await self._released.wait()
            return web.Response(status=status, text="noted")
        finally:
            with self._lock:
                self.current -= 1

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> HookServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(WAIT)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(WAIT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT)
            self._loop.close()


def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds, or fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(0.02)
