"""The live events' hub: one per application, it hears the store's changes and sends
their frames (`frames`) to every open `/api/events` socket.

The store's listeners are called on whatever thread made or found a change; the hub
only hops onto the loop there (`call_soon_threadsafe`) and never blocks it: frames are
made on the `Mail` threads, once per batch for every socket, and made into WebSocket
bytes once too (`wire`). Each socket is then given the whole batch with one write to
its connection's transport: under SMTP load there is a frame a message, and a queue and
a `send_str` a frame and a socket would cost the loop, which SMTP shares, hundreds of
thousands of calls a second with a hundred sockets open.

Writing beside aiohttp's own writer (pings, pongs, the close frame) is safe because
both write whole frames, each with no await between its bytes (aiohttp's
`WebSocketWriter` writes an uncompressed frame synchronously), on the one loop: nothing
can come between a frame's bytes. The sockets negotiate no compression
(`api_events`), so plain text frames are what the peer expects; and nothing is written
once aiohttp or the hub has started closing a socket, so no frame follows a close.

A socket whose transport holds more than `QUEUE` frames' worth unsent cannot keep up
(it does not read, or reads too slowly): it is dropped rather than let memory grow, and
the page reconnects and reloads. A socket's first frame is its greeting (the store's
counts); batches told while that is being made are held for it, and follow it. Changes
that other processes make (the CLI, another worker, a mail client) are found by a look
at the files every `POLL` seconds, while at least one socket is open, and told the same
way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Final

from aiohttp import WSCloseCode, web

from postier import __version__
from postier.store.read import READ_TROUBLE, Change

from .frames import Frames, TooMany
from .mail import Mail
from .wire import text_frame, text_frames

log = logging.getLogger("postier.web")

QUEUE: Final = 2000
"""Frames one socket may be behind, counted in bytes (`FRAME_BYTES` a frame): a socket
whose transport holds more unsent when a batch comes is dropped. A batch of more changes
is not made at all (`TooMany`): every socket would be dropped by it."""
FRAME_BYTES: Final = 2048
"""What a frame is counted as, against `QUEUE`: a `new` frame (a summary with its
addresses) is a few hundred bytes, more with many recipients or tags; 2,000 frames of
2 KiB make 4 MiB unsent."""
POLL: Final = 0.3
"""Seconds between two looks at the files while a socket is open."""
GATHER: Final = 0.01
"""Seconds a batch waits after being told for the changes that come with it (an
indexer's round announces its changes together, one a mailbox)."""
CLOSE_WAIT: Final = 2.0
"""Seconds a dropped or closing socket has to take its close frame."""


class Client:
    """One open socket: the batches it is sent go to its connection's transport as
    they are, after its greeting."""

    def __init__(self, socket: web.WebSocketResponse, request: web.Request) -> None:
        self.socket = socket
        self.request = request
        self.greeted = False
        self.closing = False
        """The hub has begun closing it: nothing more is written."""
        self._held: list[bytes] = []
        """Batches heard before its greeting was made: they follow it."""
        self._held_size = 0

    def unsent(self) -> int:
        """Bytes it is behind: its transport's unsent ones, and any held for it."""
        transport = self.request.transport
        buffered = 0 if transport is None else transport.get_write_buffer_size()
        return buffered + self._held_size

    def send(self, wire: bytes) -> None:
        """Write a batch's frames (`wire`), or hold them until its greeting is sent."""
        if self.greeted:
            self._write(wire)
        else:
            self._held.append(wire)
            self._held_size += len(wire)

    def greet(self, wire: bytes) -> None:
        """Its first frame, then whatever batches came while it was being made."""
        if not self.greeted:
            self.greeted = True
            held, self._held, self._held_size = self._held, [], 0
            self._write(b"".join([wire, *held]))

    def _write(self, data: bytes) -> None:
        # `closed` is set by aiohttp before it writes its close frame (a peer's close,
        # a frame too large, a missed pong), `closing` by the hub before it does.
        transport = self.request.transport
        if self.closing or self.socket.closed or transport is None or transport.is_closing():
            return  # it is going: its handler ends and leaves
        transport.write(data)

    async def close(self, code: int, reason: bytes) -> None:
        """Stop writing, say why in a close frame, and cut the connection if that frame
        cannot be sent in `CLOSE_WAIT` seconds (a peer that does not read)."""
        self.closing = True
        try:
            await asyncio.wait_for(self.socket.close(code=code, message=reason), CLOSE_WAIT)
        except (TimeoutError, ConnectionError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()


class EventHub:
    """Every open socket of one application, and the store's changes sent to them."""

    def __init__(
        self,
        mail: Mail,
        *,
        queue: int = QUEUE,
        poll: float = POLL,
        version: str = __version__,
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

    @property
    def backlog(self) -> int:
        """Bytes a socket's transport may hold unsent when a batch comes (`QUEUE`)."""
        return self.queue * FRAME_BYTES

    # -- sockets ---------------------------------------------------------------------------

    def join(self, socket: web.WebSocketResponse, request: web.Request) -> Client | None:
        """A newly opened socket, now sent every change; None when the server is closing."""
        if self._closing:
            return None
        client = Client(socket, request)
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
        client.closing = True
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
        except READ_TROUBLE as error:
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
        client.greet(text_frame(stats))

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
            except READ_TROUBLE as error:
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
        except READ_TROUBLE as error:
            log.warning("live events: the changes could not be read: %s", error)
            return
        if not made:
            return
        wire = text_frames(made)  # once, for every socket
        for client in list(self.clients):
            if client.unsent() > self.backlog:
                self._drop(client, b"too slow: reload")
            else:
                client.send(wire)


HUB = web.AppKey("events", EventHub)
