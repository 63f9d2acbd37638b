"""The delivery queue: sessions' messages stored in batches on one thread, each with its outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from postier.server.delivery import DeliveryQueue
from postier.store import DeliveryError, Envelope, MessageSource, StoreFormat, open_store
from tests.store.helpers import envelope, mbox_messages, spool

Items = Sequence[tuple[Envelope, MessageSource]]


class RecordingStore:
    """A store that records its batches, fails chosen queue ids, and may hold a batch."""

    path = Path("/nonexistent")
    format: StoreFormat = "mbox"

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.batches: list[list[str]] = []
        self.failing = failing
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.settles: list[bool] = []
        """For each batch, whether `settle` was called after it."""
        self.settle_gate = threading.Event()
        self.settle_gate.set()

    def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        raise AssertionError("the queue delivers in batches")

    def deliver_batch(self, items: Items, *, settle: bool = True) -> list[Exception | None]:
        assert not settle, "the queue settles on its own, after answering"
        self.entered.set()
        self.gate.wait()
        ids = [envelope.queue_id for envelope, _ in items]
        self.batches.append(ids)
        self.settles.append(False)
        return [DeliveryError(f"{i}: not stored") if i in self.failing else None for i in ids]

    def settle(self) -> None:
        self.settle_gate.wait()
        if self.settles:
            self.settles[-1] = True

    def close(self) -> None:
        pass


def run(scenario: object) -> None:
    asyncio.run(scenario)  # type: ignore[arg-type]


def test_concurrent_deliveries_share_batches() -> None:
    store = RecordingStore()

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())  # type: ignore[arg-type]
        store.gate.clear()  # the first batch is held while the others queue up
        first = asyncio.ensure_future(queue.deliver(envelope(queue_id="Q0"), spool(b"x\r\n")))
        await asyncio.to_thread(store.entered.wait)
        rest = [queue.deliver(envelope(queue_id=f"Q{n}"), spool(b"x\r\n")) for n in range(1, 50)]
        waiting = asyncio.gather(*rest)
        await asyncio.sleep(0.05)
        assert not first.done()  # no outcome before its batch is stored
        store.gate.set()
        await first
        await waiting
        await queue.close()

    run(scenario())
    assert store.batches[0] == ["Q0"]
    assert store.batches[1] == [f"Q{n}" for n in range(1, 50)]  # one batch, in order


def test_clients_are_answered_before_the_store_settles_and_it_settles_once_idle() -> None:
    store = RecordingStore()
    store.settle_gate.clear()  # the store's bookkeeping after the batch is slow

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())  # type: ignore[arg-type]
        await asyncio.wait_for(queue.deliver(envelope(queue_id="Q0"), spool(b"x\r\n")), 5)
        assert store.settles == [False]  # answered while the store still settles
        store.settle_gate.set()
        for _ in range(500):
            if store.settles == [True]:
                break
            await asyncio.sleep(0.01)
        await queue.close()

    run(scenario())
    assert store.settles == [True]


def test_a_failed_delivery_fails_alone() -> None:
    store = RecordingStore(failing=frozenset({"bad"}))
    outcomes: dict[str, str] = {}

    async def one(queue: DeliveryQueue, queue_id: str) -> None:
        try:
            await queue.deliver(envelope(queue_id=queue_id), spool(b"x\r\n"))
        except DeliveryError:
            outcomes[queue_id] = "failed"
        else:
            outcomes[queue_id] = "stored"

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())  # type: ignore[arg-type]
        await asyncio.gather(one(queue, "ok1"), one(queue, "bad"), one(queue, "ok2"))
        await queue.close()

    run(scenario())
    assert outcomes == {"ok1": "stored", "bad": "failed", "ok2": "stored"}


def test_a_store_that_raises_fails_its_whole_batch() -> None:
    class Broken(RecordingStore):
        def deliver_batch(self, items: Items, *, settle: bool = True) -> list[Exception | None]:
            raise RuntimeError("a bug in the store")

    async def scenario() -> None:
        queue = DeliveryQueue(Broken(), asyncio.get_running_loop())  # type: ignore[arg-type]
        with pytest.raises(DeliveryError):
            await queue.deliver(envelope(), spool(b"x\r\n"))
        await queue.close()

    run(scenario())


def test_close_stores_what_is_queued_and_refuses_more() -> None:
    store = RecordingStore()

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())  # type: ignore[arg-type]
        pending = [
            asyncio.ensure_future(queue.deliver(envelope(queue_id=f"Q{n}"), spool(b"x\r\n")))
            for n in range(10)
        ]
        await asyncio.sleep(0)  # every delivery is queued
        await queue.close()
        await asyncio.gather(*pending)
        with pytest.raises(DeliveryError):
            await queue.deliver(envelope(queue_id="late"), spool(b"x\r\n"))

    run(scenario())
    assert sorted(i for batch in store.batches for i in batch) == sorted(f"Q{n}" for n in range(10))


def test_messages_reach_a_real_store(store_dir: Path) -> None:
    store = open_store(store_dir, "mbox")

    async def scenario() -> None:
        queue = DeliveryQueue(store, asyncio.get_running_loop())
        await asyncio.gather(
            *(
                queue.deliver(envelope(queue_id=f"Q{n}"), spool(f"Subject: {n}\r\n\r\n".encode()))
                for n in range(30)
            )
        )
        await queue.close()

    run(scenario())
    store.close()
    assert len(mbox_messages(store_dir / "destinataire@exemple.fr.mbox")) == 30


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"
