"""Webhooks: each message the server stores is POSTed, as its summary JSON (Mailpit's
`MessageSummary`, as `/api/v1/messages` lists it), to every `--webhook` URL.

Nothing of it is on the path to the 250: a session hands the stored message's queue id
to a bounded queue (`submit`, which never waits) and goes on; one task takes what is
queued, reads the summaries on a thread (one sync of the mailboxes for all of them), and
starts a post for each message and URL. A post is retried when it fails (no answer
within the timeout, no connection, a status other than 2xx), each time twice as late,
for a bounded time; each failure is one line of the log. At most `limit` requests are
in flight at once, across every URL; at most `BACKLOG` posts are under way or waiting
to retry: beyond, the queue fills, and a message that finds it full is not posted (one
line of the log) rather than hold up SMTP.

The URLs are the command line's, checked at start; nothing a message holds chooses
where, or whether, it is posted. With `--workers` each worker posts the messages it
accepted, so each message is posted once to each URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

from postier import __version__
from postier.server.service import Service
from postier.store import Envelope, StoreFormat, delivery_id, mailbox_file_name
from postier.store.read import READ_TROUBLE, NoSuchMessage, Reader, delivery_lead

if TYPE_CHECKING:
    import aiohttp

    from postier.web import Mail

log = logging.getLogger("postier.webhook")

QUEUE: Final = 10_000
"""Stored messages waiting for their summary; one more is not posted. Each is a queue id
and its recipients (a few hundred bytes): room for a burst of mail larger than posting
keeps up with (`benchmarks/webhook_bench.py` drops a tenth of 2,000 at 1,000)."""
BACKLOG: Final = 1000
"""Posts (a message to one URL) under way or waiting to retry; while this many are, the
queue is not taken from."""
GATHER: Final = 100
"""Messages whose summaries are read in one go (one sync of their mailboxes)."""
BODY_LIMIT: Final = 1 << 16
"""Bytes of an endpoint's answer read (and thrown away)."""


@dataclass(frozen=True, slots=True)
class Retry:
    """When a failed post is tried again: `first` seconds after the first failure, each
    further wait twice as long (at most `longest`), none `give_up_after` seconds after
    the first attempt began."""

    first: float = 1.0
    longest: float = 60.0
    give_up_after: float = 300.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.longest)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message just stored: what finds its summary."""

    queue_id: str
    recipients: tuple[str, ...]


class WebhookService(Service):
    """Posts each message `submit` is told of to every URL of `urls`."""

    def __init__(
        self,
        urls: Sequence[str],
        reader: Reader,
        fmt: StoreFormat,
        *,
        limit: int = 5,
        timeout: float = 10.0,
        retry: Retry | None = None,
        queue: int = QUEUE,
        backlog: int = BACKLOG,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.urls = tuple(urls)
        self.reader = reader
        self.limit = limit
        self.timeout = timeout
        self.retry = retry or Retry()
        self.dropped = 0
        """Messages not posted because the queue was full."""
        self._format: StoreFormat = fmt
        self._clock = clock
        self._sleep = sleep
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue(queue)
        self._flight = asyncio.Semaphore(limit)
        self._room = asyncio.Semaphore(backlog)
        self._posts: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._mail: Mail | None = None
        self._stopped = False

    # -- on a session's path: never waits --------------------------------------------------

    def submit(self, envelope: Envelope) -> None:
        """A message was stored: post it when its turn comes (or log that it will not)."""
        if self._stopped:
            # SMTP's grace period outlasts the webhooks: say so rather than lose it unsaid.
            log.warning("webhook: %s not posted: the server is stopping", envelope.queue_id)
            return
        try:
            self._queue.put_nowait(Arrival(envelope.queue_id, envelope.recipients))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning(
                "webhook: %s not posted: %d messages are waiting already",
                envelope.queue_id,
                self._queue.maxsize,
            )

    # -- the service -----------------------------------------------------------------------

    async def start(self) -> list[str]:
        import aiohttp

        from postier.web import Mail

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": f"postier/{__version__}"},
        )
        self._mail = Mail(self.reader)
        self._task = asyncio.create_task(self._take(), name="postier-webhooks")
        self._task.add_done_callback(_died)
        return []

    def announce(self) -> None:
        log.info("%s", described(self.urls, self.limit))

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        posts = list(self._posts)
        if posts or not self._queue.empty():
            log.warning(
                "webhook: stopping with %d posts under way and %d messages waiting: not posted",
                len(posts),
                self._queue.qsize(),
            )
        for item in [task, *posts]:
            if item is not None:
                item.cancel()
        await asyncio.gather(*(t for t in [task, *posts] if t is not None), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._mail is not None:
            self._mail.close()

    # -- the queue -------------------------------------------------------------------------

    async def _take(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < GATHER and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            assert self._mail is not None
            try:
                bodies = await self._mail.run(partial(self._summaries, batch))
            except READ_TROUBLE as error:
                log.warning(
                    "webhook: %d new messages not posted: the store could not be read: %s",
                    len(batch),
                    error,
                )
                continue
            except Exception:
                # A fault of ours: those messages are lost to the webhooks, later ones are not.
                log.exception("webhook: %d new messages not posted", len(batch))
                continue
            for id_, body in bodies:
                for url in self.urls:
                    await self._room.acquire()
                    post = asyncio.create_task(self._post(url, id_, body))
                    self._posts.add(post)
                    post.add_done_callback(self._posts.discard)

    def _summaries(self, batch: list[Arrival]) -> list[tuple[str, bytes]]:
        """On a thread: each message's ID and summary JSON (those still in the store).

        One sync of the batch's mailboxes, then one look at the index for them all: a
        `Reader.locate` per message would look at every mailbox's files each time.
        """
        from postier.web import headers, shapes

        assert self._mail is not None
        entries: set[str] = set()
        for arrival in batch:
            for address in arrival.recipients:
                with contextlib.suppress(ValueError):
                    entries.add(mailbox_file_name(address, self._format))
        self.reader.sync(entries)
        with self.reader.db.reading() as conn:
            found = [
                (arrival, delivery_lead(conn, delivery_id(arrival.queue_id.encode("ascii"))))
                for arrival in batch
            ]
        made: list[tuple[str, bytes]] = []
        for arrival, where in found:
            if where is None:
                log.warning("webhook: %s not posted: gone from the store", arrival.queue_id)
                continue
            block = b""
            with contextlib.suppress(NoSuchMessage, OSError):
                block = self._mail.head(where)
            facts = shapes.HeadFacts(headers.addresses(block, "reply-to"), headers.username(block))
            body = json.dumps(shapes.summary(where.summary, facts), separators=(",", ":"))
            made.append((where.summary.id, body.encode("utf-8")))
        return made

    # -- one post --------------------------------------------------------------------------

    async def _post(self, url: str, id_: str, body: bytes) -> None:
        """Post `body` to `url` until it is taken or the retries run out."""
        try:
            began = self._clock()
            delays = self.retry.delays()
            attempt = 1
            while True:
                async with self._flight:
                    failure = await self._attempt(url, body)
                if failure is None:
                    return
                delay = next(delays)
                if self._clock() + delay - began > self.retry.give_up_after:
                    log.warning(
                        "webhook %s: message %s not posted: %s (attempt %d); given up",
                        url, id_, failure, attempt,
                    )  # fmt: skip
                    return
                log.warning(
                    "webhook %s: message %s not posted: %s (attempt %d); again in %g s",
                    url, id_, failure, attempt, delay,
                )  # fmt: skip
                await self._sleep(delay)
                attempt += 1
        finally:
            self._room.release()

    async def _attempt(self, url: str, body: bytes) -> str | None:
        """One request; None when the endpoint took it (2xx), else why not."""
        import aiohttp

        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.content.read(BODY_LIMIT)  # to keep the connection
                if 200 <= response.status < 300:
                    return None
                return f"status {response.status}"
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except aiohttp.ClientError as error:
            return str(error) or type(error).__name__


def described(urls: Sequence[str], limit: int) -> str:
    """The log's line for the webhooks (`--workers`' parent logs it for them all)."""
    return f"webhook: each new message posted to {', '.join(urls)} ({limit} at most in flight)"


def _died(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webhooks stopped: %s", task.exception(), exc_info=task.exception())
