"""The deliverer: a task on the server's event loop that sends the outbound queue upstream.

It keeps each entry's next try in memory and looks at the queue's directory (a `stat`
a second, a listing when it changed) for entries other processes added (`--workers`)
or removed (`postier queue --delete`), and at its `flush` file. One connection to the
upstream serves every message due in a round. Each message is sent streamed from its
file, its entry held (`OutboundQueue.held`) while it is.

Exactly once, at worst twice: the entry is updated only after the upstream has answered
the end of data. A crash after the upstream's 250 and before the entry is removed sends
the message again at the next start; nothing is ever removed before the upstream has
it, or has refused it for good.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import IO, Final

from postier.client import Client, ClientError
from postier.protocol.smtp import AddressError, OutgoingEnvelope
from postier.relay.config import RelayConfig, Upstream
from postier.relay.entry import EntryError, QueueEntry
from postier.relay.outbound import Dropped, EntryBusyError, OutboundQueue
from postier.relay.outcome import Outcome, of_error, of_result

log = logging.getLogger("postier.relay")

LOOK_EVERY: Final = 1.0
"""Seconds between two looks at the queue's directory for other processes' changes."""
RACY_NS: Final = 2_000_000_000
"""A directory's mtime this recent (nanoseconds) may hide a change made in its tick:
coarse clocks tick every few milliseconds, some filesystems' every second or two."""


class Deliverer:
    """Sends what is due in the outbound queue, retries what is put off, drops what is
    refused for good (recorded in `dropped.jsonl`)."""

    def __init__(
        self,
        queue: OutboundQueue,
        config: RelayConfig,
        *,
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.upstream is not None
        self.queue = queue
        self.config = config
        self.upstream: Upstream = config.upstream
        self.hostname = hostname
        self._clock = clock
        self._monotonic = monotonic
        """Paces the looks at the directory (`clock` says what is due)."""
        self._due: dict[str, float] = {}
        """Each entry's next try, as far as this process knows."""
        self._listed_at: int | None = None
        self._flush_seen = 0.0
        self._looked = -LOOK_EVERY
        self._wakeup: asyncio.Event | None = None
        self.relayed = 0
        """Messages the upstream took, since the start."""

    def queued(self, entry: QueueEntry) -> None:
        """An entry committed in this process (on the loop): tried at once, without a
        look at the directory."""
        self._due[entry.id] = entry.next_try
        if self._wakeup is not None:
            self._wakeup.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        self._wakeup = asyncio.Event()
        self._flush_seen = self.queue.flush_requested_at()
        swept = await asyncio.to_thread(self.queue.sweep)
        if swept:
            log.info("outbound queue: %d files left half written by a crash removed", swept)
        while True:
            self._wakeup.clear()
            try:
                await self.look()
                await self.deliver_due()
            except OSError as exc:
                # The queue's disk failed; what is queued stays queued, tried again later.
                log.error("outbound queue: %s", exc)
                await asyncio.sleep(LOOK_EVERY)
            try:
                async with asyncio.timeout(self._wait()):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def _wait(self) -> float:
        if not self._due:
            return LOOK_EVERY
        return max(0.0, min(LOOK_EVERY, min(self._due.values()) - self._clock()))

    async def look(self) -> None:
        """Learn of entries added or removed by others (once a `LOOK_EVERY`), then of a
        flush."""
        now = self._monotonic()
        if now - self._looked < LOOK_EVERY:
            return
        self._looked = now
        try:
            listed_at = (await asyncio.to_thread(os.stat, self.queue.path)).st_mtime_ns
        except FileNotFoundError:
            listed_at = None
        if listed_at is not None and listed_at != self._listed_at:
            # A change made within the same tick of the filesystem's clock as the one
            # before leaves the mtime as it was: a listing that recent is made again at
            # the next look (git's "racily clean" index). Filesystem times: the real clock.
            racy = time.time_ns() - listed_at < RACY_NS
            self._listed_at = None if racy else listed_at
            names = await asyncio.to_thread(self.queue.names)
            for gone in self._due.keys() - names:
                del self._due[gone]
            for name in names - self._due.keys():
                entry = await asyncio.to_thread(self._load, name)
                if entry is not None:
                    self._due[name] = entry.next_try
        flush = await asyncio.to_thread(self.queue.flush_requested_at)
        if flush > self._flush_seen:
            self._flush_seen = flush
            self._due = dict.fromkeys(self._due, 0.0)
            log.info("outbound queue: flushed, every message is tried now")

    async def deliver_due(self) -> int:
        """One round: try every entry due now, over one connection; how many were tried."""
        now = self._clock()
        due = sorted(name for name, at in self._due.items() if at <= now)
        client: Client | None = None
        unreachable: str | None = None
        tried = 0
        try:
            for name in due:
                client, unreachable = await self._one(name, client, unreachable)
                tried += 1
        finally:
            if client is not None:
                await client.quit()
        return tried

    async def _one(
        self, name: str, client: Client | None, unreachable: str | None
    ) -> tuple[Client | None, str | None]:
        """Try entry `name`; the connection for the next one, and why the upstream cannot
        be reached in this round (the rest of the round is put off with that)."""
        try:
            with self.queue.held(name) as data:
                entry = None if data is None else self._load(name)
                if entry is None or data is None:
                    self._due.pop(name, None)
                    return client, unreachable
                if unreachable is not None:
                    outcome = Outcome({}, dict.fromkeys(entry.recipients, unreachable), {})
                else:
                    if client is None:
                        client, failure = await self._connect(entry)
                        if failure is not None:
                            unreachable = str(failure)
                            outcome = of_error(failure, entry.recipients)
                            await self._settle(entry, outcome)
                            return None, unreachable
                    assert client is not None
                    outcome = await self._send(client, entry, data)
                    if outcome.broken:
                        await client.close()
                        client = None
                await self._settle(entry, outcome)
        except EntryBusyError:
            pass  # another process holds it: it is being sent, or deleted
        return client, unreachable

    async def _connect(self, entry: QueueEntry) -> tuple[Client | None, ClientError | None]:
        client = self.upstream.client(self.hostname)
        try:
            await client.connect()
            if self.upstream.username is not None:
                assert self.upstream.password is not None
                await client.login(self.upstream.username, self.upstream.password)
        except ClientError as exc:
            await client.close()
            return None, exc
        return client, None

    async def _send(self, client: Client, entry: QueueEntry, data: IO[bytes]) -> Outcome:
        try:
            envelope = OutgoingEnvelope(
                entry.sender,
                entry.recipients,
                size=entry.size,
                eight_bit=entry.eight_bit,
                utf8_headers=entry.smtputf8,
            )
        except AddressError as exc:
            return Outcome({}, {}, dict.fromkeys(entry.recipients, f"bad address: {exc}"))
        try:
            result = await client.send_file(data, envelope)
        except ClientError as exc:
            return of_error(exc, entry.recipients)
        except OSError as exc:  # the queue file could not be read
            why = f"cannot read the queued data: {exc.strerror or exc}"
            return Outcome({}, dict.fromkeys(entry.recipients, why), {}, broken=True)
        return of_result(result)

    async def _settle(self, entry: QueueEntry, outcome: Outcome) -> None:
        """Write down what the try did (its holder: the entry is held)."""
        now = self._clock()
        for recipient, reply in outcome.delivered.items():
            log.info(
                "relayed %s (%s) from <%s> to <%s> via %s: %s",
                entry.id, entry.queue_id, entry.sender, recipient, self.upstream, reply,
            )  # fmt: skip
        dropped = [
            Dropped(entry.id, entry.queue_id, entry.sender, recipient, reply, now)
            for recipient, reply in outcome.failed.items()
        ]
        left = tuple(r for r in entry.recipients if r in outcome.deferred)
        too_old = bool(left) and now - entry.queued_at >= self.config.max_age
        if too_old:
            tries = entry.attempts + 1
            for recipient in left:
                why = f"given up after {tries} tries: {outcome.deferred[recipient]}"
                dropped.append(Dropped(entry.id, entry.queue_id, entry.sender, recipient, why, now))
            left = ()
        for record in dropped:
            log.warning(
                "relay of %s (%s) from <%s> to <%s> dropped: %s",
                entry.id, entry.queue_id, entry.sender, record.recipient, record.reply,
            )  # fmt: skip
        await asyncio.to_thread(self.queue.record_dropped, dropped)
        if outcome.delivered:
            self.relayed += 1
        if not left:
            await asyncio.to_thread(self.queue.remove, entry.id)
            self._due.pop(entry.id, None)
            return
        delay = self.config.retry_delay(entry.attempts + 1)
        error = next(iter(outcome.deferred[r] for r in left))
        later = entry.tried(error=error, at=now, delay=delay, left=left)
        await asyncio.to_thread(self.queue.update, later)
        self._due[entry.id] = later.next_try
        log.warning(
            "relay of %s (%s) to %s deferred (try %d, next in %gs): %s",
            entry.id, entry.queue_id, ", ".join(f"<{r}>" for r in left), later.attempts,
            delay, error,
        )  # fmt: skip

    def _load(self, name: str) -> QueueEntry | None:
        try:
            return self.queue.load(name)
        except (EntryError, OSError) as exc:
            log.error("outbound queue: %s.json cannot be read: %s", name, exc)
            return None
