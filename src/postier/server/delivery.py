"""The delivery queue: sessions queue finished messages; one store thread stores them.

Storing blocks on the disk, so it cannot run on the event loop. A thread per message
(an executor) made every delivery pay for a hand-off to a thread, a hand-off to the batch
leader (group commit) and a hand-off back, about sixty futex calls a message and most of
the server's CPU. Here the loop appends `(envelope, spool, future)` to a queue and, once
per round of the loop, wakes the store thread if it sleeps; the thread takes everything
queued and hands it to the store's batching (`store.batching.Batcher`, which owns the
batch limit and how a failing batch fails): each batch is stored with one call
(`MailStore.deliver_batch`: one journal record and one fsync per mailbox for all), and
its futures are resolved with one call into the loop as soon as it is stored. While a
batch is being flushed the next one fills up, so the busier the server, the larger the
batches. The store's own bookkeeping after a batch (clearing its journal record) waits
until the batch's clients are answered: the next batch does it as it writes its own
record, or the thread does it once no message came for `SETTLE_AFTER` seconds.

A future resolves only once the batch's copies are flushed: a session answers 250 after
that, or 451 when its delivery returned an error (the store has rolled it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from postier.store import (
    DEFAULT_MAX_BATCH,
    Batcher,
    DeliveryError,
    Envelope,
    MailStore,
    MessageSource,
)

log = logging.getLogger("postier.server")

SETTLE_AFTER: Final = 0.002
"""Seconds without a new message after which the store finishes its last batch. A batch
that comes sooner does it for free (its journal record replaces the last one's)."""


class Observer(Protocol):
    """Takes one measure (`prometheus_client.Histogram.observe`)."""

    def observe(self, amount: float) -> None: ...


_Job = tuple[Envelope, MessageSource, "asyncio.Future[Exception | None]"]


class DeliveryQueue:
    """Stores the messages of one event loop's sessions on one thread, in batches."""

    def __init__(
        self,
        store: MailStore,
        loop: asyncio.AbstractEventLoop,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        on_stored: Callable[[list[str]], None] | None = None,
        flush_time: Observer | None = None,
    ) -> None:
        self._store = store
        self._flush_time = flush_time
        """`--metrics`: told the seconds each batch took to be stored."""
        self._loop = loop
        self._on_stored = on_stored
        """Told the recipients of each batch once its clients have their answer."""
        self._batcher: Batcher[_Job] = Batcher(self._store_batch, max_batch, done=self._answer)
        self._pending: deque[_Job] = deque()
        self._wakeup = threading.Event()
        self._kick_scheduled = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="postier-store", daemon=True)
        self._thread.start()

    async def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        """Store `message` for each recipient: return once flushed, or raise DeliveryError.

        `message` must stay open and unchanged until this returns.
        """
        if self._closing:
            raise DeliveryError(f"{envelope.queue_id}: the server is stopping")
        future: asyncio.Future[Exception | None] = self._loop.create_future()
        self._pending.append((envelope, message, future))
        if not self._kick_scheduled:
            # Waking the thread costs a futex call and a GIL hand-off: once for all the
            # messages that this round of the loop completes, not once for each.
            self._kick_scheduled = True
            self._loop.call_soon(self._kick)
        error = await future
        if error is not None:
            raise error

    def _kick(self) -> None:
        self._kick_scheduled = False
        # The thread clears the event before it drains the queue, so an append seen
        # with the event still set is drained by the round already under way.
        if not self._wakeup.is_set():
            self._wakeup.set()

    async def close(self) -> None:
        """Store what is queued, then stop the thread. New deliveries are refused."""
        self._closing = True
        self._wakeup.set()
        await asyncio.to_thread(self._thread.join)

    # -- on the store thread -----------------------------------------------------------

    def _run(self) -> None:
        unsettled = False
        while True:
            if not self._wakeup.wait(SETTLE_AFTER if unsettled else None):
                self._settle()  # idle for a while: finish the last batch
                unsettled = False
                continue
            self._wakeup.clear()
            while self._pending:
                # Only what is queued now: the loop appends meanwhile, for the next round.
                jobs = [self._pending.popleft() for _ in range(len(self._pending))]
                self._batcher.submit_all(jobs)
                unsettled = True
            if self._closing and not self._pending:
                self._settle()
                return

    def _store_batch(self, batch: Sequence[_Job]) -> Sequence[Exception | None]:
        # Unsettled: the clients hear their 250 while the store clears its journal
        # (here once idle, or at the start of the next batch).
        jobs = [(envelope, message) for envelope, message, _ in batch]
        if self._flush_time is None:
            return self._store.deliver_batch(jobs, settle=False)
        started = time.perf_counter()
        try:
            return self._store.deliver_batch(jobs, settle=False)
        finally:
            self._flush_time.observe(time.perf_counter() - started)

    def _answer(self, batch: Sequence[_Job], errors: Sequence[Exception | None]) -> None:
        futures = [future for _, _, future in batch]
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(_resolve, futures, errors)
        if self._on_stored is not None:
            recipients = [
                address
                for (envelope, _, _), error in zip(batch, errors, strict=True)
                if error is None
                for address in envelope.recipients
            ]
            try:
                self._on_stored(recipients)
            except Exception:
                log.exception("after a batch: the index was not told of it")

    def _settle(self) -> None:
        try:
            self._store.settle()
        except Exception:
            log.exception("the store could not finish its last batch")


def _resolve(
    futures: Sequence[asyncio.Future[Exception | None]], errors: Sequence[Exception | None]
) -> None:
    """On the loop: hand each session its delivery's outcome."""
    for future, error in zip(futures, errors, strict=True):
        if not future.done():  # a session being torn down may have cancelled its wait
            future.set_result(error)
