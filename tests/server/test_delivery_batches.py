"""The delivery queue forms its batches through the store's batching: its limit, and each
batch answered as soon as it is stored, before the next one is."""

from __future__ import annotations

import asyncio
import threading

from postier.server.delivery import DeliveryQueue
from postier.store import Envelope, MessageSource
from postier.store.batching import DEFAULT_MAX_BATCH
from tests.server.test_delivery import Items, RecordingStore
from tests.store.helpers import envelope, spool


class HoldingStore(RecordingStore):
    """Holds its third batch until told, to see who was answered meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.third = threading.Event()
        self.third_entered = threading.Event()

    def deliver_batch(self, items: Items, *, settle: bool = True) -> list[Exception | None]:
        if len(self.batches) == 2:
            self.third_entered.set()
            self.third.wait()
        return super().deliver_batch(items, settle=settle)


def deliver(queue: DeliveryQueue, queue_id: str) -> asyncio.Future[None]:
    message: MessageSource = spool(b"x\r\n")
    mail: Envelope = envelope(queue_id=queue_id)
    return asyncio.ensure_future(queue.deliver(mail, message))


def test_what_is_queued_is_split_at_the_limit_and_each_batch_answered_at_once() -> None:
    store = HoldingStore()

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop(), max_batch=3)  # type: ignore[arg-type]
        store.gate.clear()
        first = deliver(queue, "Q0")
        await asyncio.to_thread(store.entered.wait)
        rest = [deliver(queue, f"Q{n}") for n in range(1, 8)]
        await asyncio.sleep(0.05)
        store.gate.set()
        await first
        await asyncio.to_thread(store.third_entered.wait)
        await asyncio.wait_for(asyncio.gather(*rest[:3]), 5)  # answered, the next one held
        assert not any(future.done() for future in rest[3:])
        store.third.set()
        await asyncio.wait_for(asyncio.gather(*rest), 5)
        await queue.close()

    asyncio.run(scenario())
    assert store.batches == [["Q0"], ["Q1", "Q2", "Q3"], ["Q4", "Q5", "Q6"], ["Q7"]]


def test_the_queue_and_the_stores_share_one_limit() -> None:
    store = RecordingStore()

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())  # type: ignore[arg-type]
        store.gate.clear()
        first = deliver(queue, "first")
        await asyncio.to_thread(store.entered.wait)
        rest = [deliver(queue, f"Q{n}") for n in range(DEFAULT_MAX_BATCH + 1)]
        await asyncio.sleep(0.05)
        store.gate.set()
        await asyncio.wait_for(asyncio.gather(first, *rest), 10)
        await queue.close()

    asyncio.run(scenario())
    assert [len(batch) for batch in store.batches] == [1, DEFAULT_MAX_BATCH, 1]
