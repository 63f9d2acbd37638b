"""`relay/deliverer.py`, driven round by round with clocks the test moves, against an
in-process aiosmtpd on 127.0.0.1: what is due is sent over one connection, 4xx is
retried on the schedule, 5xx and age drop (recorded), partial acceptance leaves the rest,
a flush makes all due, and an entry that cannot be read harms no other."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from postier.relay import Deliverer, Dropped, OutboundQueue, QueueEntry, RelayConfig
from postier.relay.deliverer import LOOK_EVERY
from postier.relay.outbound import STALE
from tests.client.servers import RecordingHandler
from tests.relay_units.helpers import T0, Clock, ClosingController, config, entry

DATA = b"Subject: relayed\r\n\r\nbody\r\n"
A, B, C = "a@out.test", "b@out.test", "c@out.test"


@dataclass
class Upstream(RecordingHandler):
    """Records which connection each transaction came over, too."""

    peers: list[Any] = field(default_factory=list)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.peers.append(session.peer)
        return await super().handle_MAIL(server, session, envelope, address, options)


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, int]]:
    handler = Upstream()
    controller = ClosingController(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def queue(tmp_path: Path) -> OutboundQueue:
    return OutboundQueue(tmp_path / "store", fsync=False)


def _closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _queue(queue: OutboundQueue, name: str, **changes: object) -> QueueEntry:
    staged = queue.stage(name, [DATA], lambda: entry(name, **changes))
    queue.commit(staged)
    return staged.entry


@dataclass
class Harness:
    """A deliverer whose wall clock the test moves, and whose every look looks."""

    queue: OutboundQueue
    relay: RelayConfig
    clock: Clock = field(default_factory=Clock)
    deliverer: Deliverer = field(init=False)

    def __post_init__(self) -> None:
        ticks = itertools.count(step=LOOK_EVERY)
        self.deliverer = Deliverer(
            self.queue, self.relay, hostname="relay.test", clock=self.clock,
            monotonic=lambda: float(next(ticks)),
        )  # fmt: skip

    def round(self) -> int:
        """One look at the directory, then one round; how many entries were tried."""

        async def go() -> int:
            await self.deliverer.look()
            return await self.deliverer.deliver_due()

        return asyncio.run(go())


def _harness(queue: OutboundQueue, port: int, **more: object) -> Harness:
    return Harness(queue, config(port=port, **more))


def test_every_due_entry_is_sent_in_one_round_over_one_connection(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    _queue(queue, "e1", recipients=(A, B))
    _queue(queue, "e2", sender="")
    _queue(queue, "e3", next_try=T0 + 10)  # not due yet
    harness = _harness(queue, port)
    assert harness.round() == 2
    assert [(m.sender, m.recipients, m.content) for m in handler.messages] == [
        ("sender@in.test", [A, B], DATA),
        ("<>", [A], DATA),
    ]
    assert len(handler.peers) == 2 and len(set(handler.peers)) == 1
    assert "SIZE=10" in handler.messages[0].mail_options  # the size the entry says
    assert queue.names() == {"e3"}
    assert queue.dropped() == []
    assert harness.deliverer.relayed == 2
    assert harness.round() == 0  # nothing is due until the clock says so
    harness.clock.now = T0 + 10
    assert harness.round() == 1
    assert queue.names() == set()


RETRIES: list[tuple[int, float]] = [(1, 60.0), (2, 120.0), (3, 240.0), (4, 480.0)]


def test_a_4xx_is_retried_on_the_growing_schedule(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    handler.refuse_recipients[A] = "450 4.2.1 mailbox busy"
    _queue(queue, "e1")
    harness = _harness(queue, port)
    for attempts, delay in RETRIES:
        assert harness.round() == 1
        later = queue.load("e1")
        assert later is not None
        assert later.attempts == attempts
        assert later.next_try == harness.clock.now + delay
        assert later.last_error == "450 4.2.1 mailbox busy"
        assert later.recipients == (A,)
        harness.clock.now += delay - 1
        assert harness.round() == 0  # a second early: not yet
        harness.clock.now += 1
    del handler.refuse_recipients[A]
    assert harness.round() == 1
    assert queue.names() == set() and queue.dropped() == []
    assert [m.recipients for m in handler.messages] == [[A]]


def test_the_schedule_survives_a_restart(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    handler.refuse_recipients[A] = "451 4.3.0 later"
    _queue(queue, "e1")
    assert _harness(queue, port).round() == 1
    again = _harness(queue, port)  # a new process reads the next try from the entry
    assert again.round() == 0
    again.clock.now += 60
    assert again.round() == 1


@pytest.mark.parametrize(
    ("refusal", "where"),
    [
        ("550 5.1.1 no such user", "rcpt"),
        ("554 5.6.0 content refused", "data"),
    ],
)
def test_a_5xx_drops_the_recipient_and_records_it(
    queue: OutboundQueue, upstream: tuple[Upstream, int], refusal: str, where: str
) -> None:
    handler, port = upstream
    if where == "rcpt":
        handler.refuse_recipients[A] = refusal
    else:
        handler.data_reply = refusal
    _queue(queue, "e1")
    harness = _harness(queue, port)
    assert harness.round() == 1
    assert queue.names() == set()
    [dropped] = queue.dropped()
    assert dropped == Dropped("e1", "Q1", "sender@in.test", A, dropped.reply, T0)
    assert refusal in dropped.reply
    assert harness.deliverer.relayed == 0


def test_partial_acceptance_leaves_only_the_recipients_put_off(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    handler.refuse_recipients[B] = "452 4.2.2 over quota"
    handler.refuse_recipients[C] = "550 5.1.1 unknown"
    _queue(queue, "e1", recipients=(A, B, C))
    harness = _harness(queue, port)
    assert harness.round() == 1
    assert [m.recipients for m in handler.messages] == [[A]]
    left = queue.load("e1")
    assert left is not None
    assert (left.recipients, left.attempts, left.next_try) == ((B,), 1, T0 + 60)
    assert left.last_error == "452 4.2.2 over quota"
    assert [(d.recipient, d.reply) for d in queue.dropped()] == [(C, "550 5.1.1 unknown")]
    assert harness.deliverer.relayed == 1
    del handler.refuse_recipients[B]
    harness.clock.now += 60
    assert harness.round() == 1
    assert [m.recipients for m in handler.messages] == [[A], [B]]  # A not sent twice
    assert queue.names() == set()


AGES: list[tuple[str, float, bool]] = [
    # name, age at the try, dropped
    ("younger than max age", 100.0 - 1, False),
    ("max age reached", 100.0, True),
    ("older", 1000.0, True),
]


@pytest.mark.parametrize(("age", "dropped"), [a[1:] for a in AGES], ids=[a[0] for a in AGES])
def test_a_message_put_off_past_max_age_is_given_up(
    queue: OutboundQueue, upstream: tuple[Upstream, int], age: float, dropped: bool
) -> None:
    handler, port = upstream
    handler.refuse_recipients[A] = "450 4.2.1 busy"
    _queue(queue, "e1", attempts=2, queued_at=T0 - age)
    harness = _harness(queue, port, max_age=100.0)
    assert harness.round() == 1
    if dropped:
        assert queue.names() == set()
        [record] = queue.dropped()
        assert (record.recipient, record.reply) == (A, "given up after 3 tries: 450 4.2.1 busy")
    else:
        assert queue.names() == {"e1"} and queue.dropped() == []


def test_an_old_message_the_upstream_takes_is_delivered_not_dropped(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    _queue(queue, "e1", queued_at=T0 - 1000)
    assert _harness(queue, port, max_age=100.0).round() == 1
    assert len(handler.messages) == 1 and queue.dropped() == []


def test_an_unreachable_upstream_puts_off_the_whole_round(queue: OutboundQueue) -> None:
    _queue(queue, "e1")
    _queue(queue, "e2", recipients=(A, B))
    harness = _harness(queue, _closed_port())
    assert harness.round() == 2
    for name in ("e1", "e2"):
        later = queue.load(name)
        assert later is not None
        assert (later.attempts, later.next_try) == (1, T0 + 60)
        assert later.last_error != ""
    first, second = queue.load("e1"), queue.load("e2")
    assert first is not None and second is not None
    assert first.last_error == second.last_error  # one try to connect for the round
    assert queue.dropped() == []


def test_an_unreachable_upstream_past_max_age_drops(queue: OutboundQueue) -> None:
    _queue(queue, "e1", queued_at=T0 - 10)
    assert _harness(queue, _closed_port(), max_age=5.0).round() == 1
    assert queue.names() == set()
    [record] = queue.dropped()
    assert record.reply.startswith("given up after 1 tries: ")


def test_a_flush_makes_a_deferred_entry_due_now_once(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    handler.refuse_recipients[A] = "450 4.2.1 busy"
    _queue(queue, "e1")
    harness = _harness(queue, port)
    assert harness.round() == 1
    assert harness.round() == 0
    queue.request_flush()
    assert harness.round() == 1  # at the same instant: the flush made it due
    later = queue.load("e1")
    assert later is not None and later.attempts == 2
    assert harness.round() == 0  # the mark was seen once; the schedule holds again
    assert later.next_try == T0 + 120


def test_looks_at_the_directory_are_paced(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    _, port = upstream
    ticks = iter([100.0, 100.5, 101.0])
    deliverer = Deliverer(queue, config(port=port), clock=Clock(), monotonic=lambda: next(ticks))

    async def rounds() -> list[int]:
        tried = []
        for _ in range(3):
            await deliverer.look()
            tried.append(await deliverer.deliver_due())
            _queue(queue, f"e{len(tried)}")  # as another worker would, unannounced
        return tried

    _queue(queue, "e0")
    # Half a second on, e1 (added meanwhile) is not seen yet; a second on, e1 and e2 are.
    assert asyncio.run(rounds()) == [1, 0, 2]


def test_entries_added_and_removed_by_others_are_noticed(
    queue: OutboundQueue, upstream: tuple[Upstream, int], tmp_path: Path
) -> None:
    handler, port = upstream
    harness = _harness(queue, port)
    assert harness.round() == 0
    other = OutboundQueue(tmp_path / "store", fsync=False)  # another worker's
    _queue(other, "e1", next_try=T0 + 5)
    _queue(other, "e2")
    assert harness.round() == 1
    other.remove("e1")  # `postier queue --delete`
    harness.clock.now += 5
    assert harness.round() == 0
    assert [m.recipients for m in handler.messages] == [[A]]


def test_queued_makes_an_entry_due_without_a_look(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    harness = _harness(queue, port)
    harness.round()
    harness.deliverer.queued(_queue(queue, "e1"))
    assert asyncio.run(harness.deliverer.deliver_due()) == 1
    assert len(handler.messages) == 1


def test_an_entry_another_holds_is_left_alone(
    queue: OutboundQueue, upstream: tuple[Upstream, int], tmp_path: Path
) -> None:
    handler, port = upstream
    _queue(queue, "e1")
    _queue(queue, "e2")
    harness = _harness(queue, port)
    with OutboundQueue(tmp_path / "store").held("e1") as held:
        assert held is not None
        assert harness.round() == 2
    assert [m.recipients for m in handler.messages] == [[A]]  # e2 only
    assert queue.load("e1") == entry("e1")  # unchanged, still due
    assert harness.round() == 1
    assert queue.names() == set()


CORRUPT: list[tuple[str, bytes]] = [
    ("half written", b'{"format": 1, "id": "bad", "queue'),
    ("not an object", b'"bad"'),
    ("null", b"null"),
    ("attempts a string", entry("bad").to_json().replace(b'"attempts": 0', b'"attempts": "0"')),
    ("next try a string", entry("bad").to_json().replace(b'"next_try": 0.0', b'"next_try": "0"')),
    ("recipients a string", entry("bad").to_json().replace(b'["a@out.test"]', b'"a@out.test"')),
]


@pytest.mark.parametrize("data", [c[1] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_an_entry_that_cannot_be_read_harms_no_other(
    queue: OutboundQueue,
    upstream: tuple[Upstream, int],
    data: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = upstream
    _queue(queue, "a")
    _queue(queue, "bad")
    _queue(queue, "c", recipients=(C,))
    (queue.path / "bad.json").write_bytes(data)
    harness = _harness(queue, port)
    with caplog.at_level(logging.ERROR, "postier.relay"):
        assert harness.round() == 2
    assert "bad.json cannot be read" in caplog.text
    assert [m.recipients for m in handler.messages] == [[A], [C]]
    assert queue.names() == {"bad"}  # kept for a person to look at, never sent
    assert (queue.path / "bad.json").read_bytes() == data
    assert (queue.path / "bad.msg").read_bytes() == DATA


def test_an_entry_read_wrong_mid_round_is_skipped(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    harness = _harness(queue, port)
    harness.deliverer.queued(_queue(queue, "a"))
    harness.deliverer.queued(_queue(queue, "bad"))
    (queue.path / "bad.json").write_bytes(b'"bad"')  # spoilt after it was known
    assert asyncio.run(harness.deliverer.deliver_due()) == 2
    assert [m.recipients for m in handler.messages] == [[A]]
    assert queue.names() == {"bad"}


def test_run_sweeps_then_delivers_until_cancelled(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    queue.stage("crashed", [DATA], lambda: entry("crashed"))  # never committed
    stale = time.time() - 2 * STALE  # sweep goes by the real clock: files are dated by it
    for suffix in (".msg", ".json"):
        os.utime(queue.path / "tmp" / f"crashed{suffix}", (stale, stale))
    _queue(queue, "e1")
    deliverer = Deliverer(queue, config(port=port), clock=Clock())

    async def go() -> None:
        task = asyncio.create_task(deliverer.run())
        try:
            async with asyncio.timeout(15):
                while queue.names():
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(go())
    assert [m.recipients for m in handler.messages] == [[A]]
    assert list((queue.path / "tmp").iterdir()) == []


def test_a_dropped_record_names_the_message(
    queue: OutboundQueue, upstream: tuple[Upstream, int]
) -> None:
    handler, port = upstream
    handler.refuse_recipients[A] = "550 5.1.1 unknown"
    _queue(queue, "e1", queue_id="QX", sender="s@in.test")
    _harness(queue, port).round()
    lines = (queue.path / "dropped.jsonl").read_bytes().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "e1", "queue_id": "QX", "sender": "s@in.test", "recipient": A,
         "reply": "550 5.1.1 unknown", "at": T0},
    ]  # fmt: skip


def _set_mtime_ns(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_an_entry_added_in_the_same_tick_of_the_directory_clock_is_not_missed(
    queue: OutboundQueue, upstream: tuple[Upstream, int], tmp_path: Path
) -> None:
    handler, port = upstream
    queue.ensure()
    listed = os.stat(queue.path).st_mtime_ns
    harness = _harness(queue, port)
    assert harness.round() == 0  # listed the directory at that mtime
    other = OutboundQueue(tmp_path / "store", fsync=False)
    _queue(other, "e1")
    # A coarse filesystem clock that has not ticked since: the mtime does not move.
    _set_mtime_ns(queue.path, listed)
    assert harness.round() == 1
    assert [m.recipients for m in handler.messages] == [[A]]


def test_a_directory_unchanged_for_long_is_not_listed_again(
    queue: OutboundQueue, upstream: tuple[Upstream, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = upstream
    _queue(queue, "e0", next_try=T0 + 100)
    old = time.time_ns() - 60 * 1_000_000_000
    _set_mtime_ns(queue.path, old)
    harness = _harness(queue, port)
    listings: list[int] = []
    names = queue.names

    def counted() -> set[str]:
        listings.append(1)
        return names()

    monkeypatch.setattr(queue, "names", counted)
    for _ in range(3):
        assert harness.round() == 0
    assert listings == [1]  # one stat a look, one listing while nothing changes
