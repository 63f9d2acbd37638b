"""The live events' hub: one per application, it hears the store's changes and sends
their frames (`frames`) to every open `/api/events` socket.

The store's listeners are called on whatever thread made or found a change; the hub
only hops onto the loop there (`call_soon_threadsafe`) and never blocks it: frames are
made on the `Mail` threads, once per batch for every socket, and each socket has a
writer of its own behind a bounded queue. A socket whose queue is full cannot keep up
(it does not read, or reads too slowly): it is dropped rather than let memory grow,
and the page reconnects and reloads. Changes that other processes make (the CLI,
another worker, a mail client) are found by a look at the files every `POLL` seconds,
while at least one socket is open, and told the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Final

from aiohttp import WSCloseCode, web

from postier import __version__
from postier.store.read import Change, ReaderError

from .frames import Frames, TooMany
from .mail import Mail

log = logging.getLogger("postier.web")

QUEUE: Final = 2000
"""Frames one socket may have waiting unsent; one more and it is dropped."""
POLL: Final = 0.3
"""Seconds between two looks at the files while a socket is open."""
GATHER: Final = 0.01
"""Seconds a batch waits after being told for the changes that come with it (an
indexer's round announces its changes together, one a mailbox)."""
TROUBLE: Final = (ReaderError, OSError, sqlite3.Error)
"""What reading the store may meet (a damaged mailbox, a busy index): logged, and the
next look tries again; the sockets stay open."""
CLOSE_WAIT: Final = 2.0
"""Seconds a dropped or closing socket has to take its close frame."""


class Client:
    """One open socket and the frames it is yet to be sent."""

    def __init__(self, socket: web.WebSocketResponse, request: web.Request, limit: int) -> None:
        self.socket = socket
        self.request = request
        self.queue: asyncio.Queue[str] = asyncio.Queue(limit)
        self.greeted = False
        self.writer = asyncio.get_running_loop().create_task(self._write())

    def offer(self, frame: str) -> bool:
        """Queue `frame`; False when the queue is full (the client is behind)."""
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def _write(self) -> None:
        while True:
            frame = await self.queue.get()
            try:
                await self.socket.send_str(frame)
            except (ConnectionError, RuntimeError):
                return  # it went away: its handler ends and leaves

    async def close(self, code: int, reason: bytes) -> None:
        """Stop writing, say why in a close frame, and cut the connection if that frame
        cannot be sent in `CLOSE_WAIT` seconds (a peer that does not read)."""
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer
        try:
            await asyncio.wait_for(self.socket.close(code=code, message=reason), CLOSE_WAIT)
        except (TimeoutError, ConnectionError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()


class EventHub:
    """Every open socket of one application, and the store's changes sent to them."""

    def __init__(
        self, mail: Mail, *, queue: int = QUEUE, poll: float = POLL, version: str = __version__
    ) -> None:
        self.mail = mail
        self.queue = queue
        self.poll = poll
        self.version = version
        self.clients: set[Client] = set()
        self.dropped = 0
        """Sockets dropped because they could not keep up."""
        self._pending: list[Change] = []
        self._told = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._errands: set[asyncio.Task[None]] = set()
        """Short tasks (a greeting, a dropped socket's close), held until done: a task
        nobody holds may vanish."""
        self._unsubscribe: list[Callable[[], None]] = []
        self._closing = False
        self._frames: Frames | None = None

    # -- sockets ---------------------------------------------------------------------------

    def join(self, socket: web.WebSocketResponse, request: web.Request) -> Client | None:
        """A newly opened socket, now sent every change; None when the server is closing."""
        if self._closing:
            return None
        client = Client(socket, request, self.queue)
        self.clients.add(client)
        if len(self.clients) == 1:
            self._start()
        elif self._frames is not None:
            self._errand(self._welcome(client))
        return client

    def leave(self, client: Client) -> None:
        if client not in self.clients:
            return
        self.clients.discard(client)
        client.writer.cancel()
        if not self.clients:
            self._stop()

    async def close(self, app: web.Application | None = None) -> None:
        """At the server's shutdown: every socket closed cleanly (1001, going away)."""
        self._closing = True
        self._stop()
        clients, self.clients = list(self.clients), set()
        await asyncio.gather(
            *(client.close(WSCloseCode.GOING_AWAY, b"server shutdown") for client in clients),
            *self._errands,
            return_exceptions=True,
        )

    def _drop(self, client: Client, reason: bytes) -> None:
        self.leave(client)
        self.dropped += 1
        self._errand(client.close(WSCloseCode.TRY_AGAIN_LATER, reason))

    def _errand(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._errands.add(task)
        task.add_done_callback(self._errands.discard)

    # -- the store's changes ---------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()

        def heard(change: Change) -> None:  # on the thread that made or found it
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                loop.call_soon_threadsafe(self._take, change)

        self._unsubscribe = [self.mail.reader.subscribe(heard)]
        self._tasks.append(loop.create_task(self._follow()))

    def _stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        self._pending = []
        self._frames = None

    def _take(self, change: Change) -> None:
        if self.clients:
            self._pending.append(change)
            self._told.set()

    async def _follow(self) -> None:
        """What the sockets are told: first what the store holds, then every change."""
        try:
            await self.mail.run(self.mail.reader.sync)
            frames = await self.mail.run(partial(Frames, self.mail, self.version, self.queue))
        except TROUBLE as error:
            log.warning("live events: the store could not be read: %s", error)
            for client in list(self.clients):
                self._drop(client, b"the store could not be read")
            return
        self._frames = frames
        greeting = await self.mail.run(frames.stats)
        for client in list(self.clients):
            self._greet(client, greeting)
        await asyncio.gather(self._pump(frames), self._look(frames))

    def _greet(self, client: Client, stats: str) -> None:
        """A socket's first frame, the store's counts: from now on it hears every change
        (a page loads its lists when it gets it)."""
        if not client.greeted:
            client.greeted = True
            client.offer(stats)

    async def _welcome(self, client: Client) -> None:
        if self._frames is not None:
            self._greet(client, await self.mail.run(self._frames.stats))

    async def _pump(self, frames: Frames) -> None:
        """Each batch of changes this process's reader announced, to every socket."""
        while True:
            await self._told.wait()
            await asyncio.sleep(GATHER)
            self._told.clear()
            changes, self._pending = self._pending, []
            if changes:
                await self._send(partial(frames.told, changes))

    async def _look(self, frames: Frames) -> None:
        """Look at the files and the index now and then: what other processes changed
        is heard too."""
        while True:
            await asyncio.sleep(self.poll)
            try:
                await self.mail.run(self.mail.look)
            except TROUBLE as error:
                log.warning("live events: the store could not be read: %s", error)
                continue
            await self._send(frames.looked)

    async def _send(self, make: Callable[[], list[str]]) -> None:
        try:
            made = await self.mail.run(make)
        except TooMany:
            for client in list(self.clients):
                self._drop(client, b"too many changes at once: reload")
            return
        except TROUBLE as error:
            log.warning("live events: the changes could not be read: %s", error)
            return
        for client in list(self.clients):
            if not all(client.offer(frame) for frame in made):
                self._drop(client, b"too slow: reload")


HUB = web.AppKey("events", EventHub)
