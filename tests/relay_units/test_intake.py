"""`relay/intake.py` and the session's end of data around it: the relayed copy is staged
before the store is asked, committed once the store has the message, and discarded
(nothing queued, the error passed on, the client hears 451) when the store fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from postier.protocol.smtp import MessageComplete
from postier.relay import OutboundQueue, QueueEntry, RelayIntake
from postier.relay.outbound import Staged
from postier.server.context import ServerContext
from postier.server.delivery import DeliveryQueue
from postier.settings import Settings
from postier.store import Envelope, MailStore, MessageSource, Spool, relay_trace
from tests.relay_units.helpers import config

MESSAGE = b"Subject: hi\r\n\r\nline one\nline two\r\n"
A, B, LOCAL = "a@out.test", "b@out.test", "local@in.test"


@dataclass
class Source:
    """A message's data as the spool gives it, in pieces."""

    data: bytes = MESSAGE

    def chunks(self, size: int = 7) -> Iterator[bytes]:
        for start in range(0, len(self.data), size):
            yield self.data[start : start + size]


def _envelope(sender: str = "s@in.test", recipients: tuple[str, ...] = (A,)) -> Envelope:
    return Envelope(
        sender=sender,
        recipients=recipients,
        helo="client.test",
        peer_ip="127.0.0.1",
        server_name="postier.test",
        protocol="ESMTP",
        queue_id="QID1",
        received_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file()} if directory.exists() else set()


@pytest.fixture
def queue(tmp_path: Path) -> OutboundQueue:
    return OutboundQueue(tmp_path / "store", fsync=False)


def test_stage_writes_the_trace_and_the_data_and_commit_queues_it(queue: OutboundQueue) -> None:
    committed: list[QueueEntry] = []
    intake = RelayIntake(config(match=(r".*@out\.test",)), queue, committed=committed.append)
    envelope = _envelope(recipients=(A, LOCAL, B))
    relayed = intake.selected(envelope.recipients)
    assert relayed == (A, B)

    async def go() -> Staged:
        staged = await intake.stage(envelope, Source(), relayed, smtputf8=False)
        assert queue.names() == set() and committed == []  # staged, not queued
        await intake.commit(staged)
        return staged

    staged = asyncio.run(go())
    name = staged.entry.id
    head = relay_trace(envelope, relayed)
    data = (queue.path / f"{name}.msg").read_bytes()
    assert data == head + MESSAGE  # the data exactly as the client sent it
    assert head.startswith(b"Received: from client.test") and b"QID1" in head
    assert b"for <" not in head  # two recipients: neither is named to the other
    assert committed == [staged.entry]
    assert queue.entries() == [staged.entry]
    made = staged.entry
    assert (made.queue_id, made.sender, made.recipients) == ("QID1", "s@in.test", (A, B))
    assert made.size == len(head) + len(MESSAGE) + 1  # the bare LF counts as CRLF
    assert (made.eight_bit, made.smtputf8, made.attempts, made.next_try) == (False, False, 0, 0.0)


@pytest.mark.parametrize(
    ("relay_from", "sender", "expected"),
    [
        (None, "s@in.test", "s@in.test"),
        (None, "", ""),
        ("bounce@relay.test", "s@in.test", "bounce@relay.test"),
        ("bounce@relay.test", "", "bounce@relay.test"),
    ],
)
def test_the_sender_upstream_is_the_messages_or_relay_from(
    queue: OutboundQueue, relay_from: str | None, sender: str, expected: str
) -> None:
    intake = RelayIntake(config(match=(".*",), sender=relay_from), queue)
    staged = asyncio.run(intake.stage(_envelope(sender), Source(), (A,), smtputf8=False))
    assert staged.entry.sender == expected


def test_eight_bit_and_smtputf8_are_noted(queue: OutboundQueue) -> None:
    intake = RelayIntake(config(match=(".*",)), queue)
    source = Source("Subject: caf\u00e9\r\n\r\n\r\n".encode())
    staged = asyncio.run(intake.stage(_envelope(), source, (A,), smtputf8=True))
    assert (staged.entry.eight_bit, staged.entry.smtputf8) == (True, True)


def test_discard_takes_a_staged_copy_back(queue: OutboundQueue) -> None:
    intake = RelayIntake(config(match=(".*",)), queue)

    async def go() -> None:
        staged = await intake.stage(_envelope(), Source(), (A,), smtputf8=False)
        await intake.discard(staged)

    asyncio.run(go())
    assert _files(queue.path / "tmp") == set() and queue.names() == set()


# --- the session's end of data: stage, store, commit ----------------------------------------


class StoreFailedError(Exception):
    pass


@dataclass
class Deliveries:
    """The delivery queue's `deliver`, which notes what the queue held meanwhile."""

    queue: OutboundQueue
    fail: bool = False
    seen: list[tuple[set[str], set[str]]] = field(default_factory=list)
    """The queue's entries and its staged files, as each delivery found them."""

    async def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        self.seen.append((self.queue.names(), _files(self.queue.path / "tmp")))
        if self.fail:
            raise StoreFailedError("the disk is full")


def _context(tmp_path: Path, deliveries: Deliveries, intake: RelayIntake) -> ServerContext:
    return ServerContext(
        settings=Settings(store=tmp_path / "store", hostname="postier.test"),
        store=cast(MailStore, None),
        deliveries=cast(DeliveryQueue, deliveries),
        relay=intake,
    )


def _event(recipients: tuple[str, ...]) -> MessageComplete:
    return MessageComplete(
        sender="s@in.test",
        recipients=recipients,
        size=len(MESSAGE),
        helo="client.test",
        protocol="ESMTP",
        smtputf8=False,
        body=None,
    )


def _end_of_data(context: ServerContext, recipients: tuple[str, ...]) -> int:
    async def go() -> int:
        reply = await context.deliver(
            _event(recipients), cast(Spool, Source()), peer_ip="127.0.0.1",
            peer="[127.0.0.1]:1", tls=None,
        )  # fmt: skip
        return reply.code

    return asyncio.run(go())


def test_the_copy_is_staged_before_the_store_and_queued_after(
    tmp_path: Path, queue: OutboundQueue
) -> None:
    committed: list[QueueEntry] = []
    intake = RelayIntake(config(match=(r".*@out\.test",)), queue, committed=committed.append)
    deliveries = Deliveries(queue)
    assert _end_of_data(_context(tmp_path, deliveries, intake), (LOCAL, A)) == 250
    [(queued, staged)] = deliveries.seen
    assert queued == set() and len(staged) == 2  # written and flushed, not yet queued
    [made] = queue.entries()
    assert committed == [made] and made.recipients == (A,)
    assert _files(queue.path / "tmp") == set()


def test_a_store_that_fails_leaves_nothing_queued(
    tmp_path: Path, queue: OutboundQueue, caplog: pytest.LogCaptureFixture
) -> None:
    committed: list[QueueEntry] = []
    intake = RelayIntake(config(match=(r".*@out\.test",)), queue, committed=committed.append)
    deliveries = Deliveries(queue, fail=True)
    assert _end_of_data(_context(tmp_path, deliveries, intake), (A,)) == 451
    assert len(deliveries.seen[0][1]) == 2  # it was staged
    assert queue.names() == set() and _files(queue.path / "tmp") == set()
    assert committed == []
    assert "StoreFailedError" in caplog.text  # the details go to the log


def test_the_store_error_propagates_through_the_relay_step(
    tmp_path: Path, queue: OutboundQueue
) -> None:
    intake = RelayIntake(config(match=(".*",)), queue)
    context = _context(tmp_path, Deliveries(queue, fail=True), intake)

    async def go() -> None:
        await context._deliver_and_relay(_envelope(), cast(Spool, Source()), (A,), False)

    with pytest.raises(StoreFailedError, match="the disk is full"):
        asyncio.run(go())
    assert queue.names() == set() and _files(queue.path / "tmp") == set()


def test_a_message_for_no_relayed_recipient_is_not_staged(
    tmp_path: Path, queue: OutboundQueue
) -> None:
    intake = RelayIntake(config(match=(r".*@out\.test",)), queue)
    deliveries = Deliveries(queue)
    assert _end_of_data(_context(tmp_path, deliveries, intake), (LOCAL,)) == 250
    assert deliveries.seen == [(set(), set())]
    assert queue.names() == set()
