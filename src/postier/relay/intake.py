"""Taking an accepted message into the outbound queue, around its delivery to the store.

The session's end of data asks `stage` before the store is asked (the entry is written
and flushed, not yet in the queue), then `commit` once the store has every copy, then
answers 250: a 250 promises the local copies and the relayed one alike. When the store
fails, `discard` takes the staged entry back and the client hears 451.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from postier.relay.config import RelayConfig
from postier.relay.entry import QueueEntry
from postier.relay.measure import Measured
from postier.relay.outbound import OutboundQueue, Staged, new_entry_id
from postier.store import Envelope, MessageSource, relay_trace


class RelayIntake:
    """Stages and commits the part of each accepted message that is to be relayed."""

    def __init__(
        self,
        config: RelayConfig,
        queue: OutboundQueue,
        *,
        committed: Callable[[QueueEntry], None] | None = None,
    ) -> None:
        self.config = config
        self.queue = queue
        self._committed = committed
        """Told after each commit (the deliverer of this process wakes up)."""

    def selected(self, recipients: tuple[str, ...]) -> tuple[str, ...]:
        return self.config.selected(recipients)

    async def stage(
        self, envelope: Envelope, message: MessageSource, recipients: tuple[str, ...], *,
        smtputf8: bool,
    ) -> Staged:  # fmt: skip
        """Write the copy for `recipients` (on a thread: it waits for the disk)."""
        return await asyncio.to_thread(self._stage, envelope, message, recipients, smtputf8)

    def _stage(
        self, envelope: Envelope, message: MessageSource, recipients: tuple[str, ...],
        smtputf8: bool,
    ) -> Staged:  # fmt: skip
        head = relay_trace(envelope, recipients)
        measured = Measured(_prefixed(head, message))
        name = new_entry_id()

        def entry() -> QueueEntry:
            sender = envelope.sender if self.config.sender is None else self.config.sender
            return QueueEntry(
                id=name,
                queue_id=envelope.queue_id,
                sender=sender,
                recipients=recipients,
                size=measured.size,
                eight_bit=measured.eight_bit,
                smtputf8=smtputf8,
                queued_at=time.time(),
            )

        return self.queue.stage(name, measured, entry)

    async def commit(self, staged: Staged) -> None:
        await asyncio.to_thread(self.queue.commit, staged)
        if self._committed is not None:
            self._committed(staged.entry)

    async def discard(self, staged: Staged) -> None:
        await asyncio.to_thread(self.queue.discard, staged)


def _prefixed(head: bytes, message: MessageSource) -> Iterator[bytes]:
    yield head
    yield from message.chunks()
