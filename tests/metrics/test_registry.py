"""`Metrics` in one process: a registry of its own for each server (two never mix),
the figures read at scrape time under a fake clock, and the index's lag going up with
each batch and down once it is indexed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from postier.metrics import Metrics, entry_time
from postier.protocol.smtp import catalogue
from postier.relay import OutboundQueue

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parsed(metrics: Metrics) -> Samples:
    text = metrics.exposition().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_each_server_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.accepted.inc()
    first.message_refused("store", catalogue.delivery_failed())
    first.session_opened()
    second.session_opened()
    second.session_closed()
    one, two = parsed(first), parsed(second)
    assert one[("postier_smtp_messages_accepted_total", frozenset())] == 1
    assert two[("postier_smtp_messages_accepted_total", frozenset())] == 0
    refused = (
        "postier_smtp_messages_refused_total",
        frozenset({"reason": "store", "code": "451"}.items()),
    )
    assert one[refused] == 1
    assert refused not in two
    assert one[("postier_smtp_sessions_open", frozenset())] == 1
    assert two[("postier_smtp_sessions_open", frozenset())] == 0
    assert two[("postier_smtp_sessions_total", frozenset())] == 1


@pytest.mark.parametrize(
    ("names", "length", "age"),
    [
        ((), 0, 0.0),
        (("0000000000000000aaaa",), 1, 1000.0),
        ((f"{990_000_000:016x}bbbb", f"{400_000_000:016x}cccc"), 2, 600.0),
    ],
)
def test_relay_queue_read_at_scrape(
    tmp_path: Path, names: tuple[str, ...], length: int, age: float
) -> None:
    queue = OutboundQueue(tmp_path)
    queue.ensure()
    for name in names:
        (queue.path / f"{name}.json").write_text("{}")
        (queue.path / f"{name}.msg").write_text("")
    (queue.path / "dropped.jsonl").write_text("")  # not an entry
    metrics = Metrics()
    metrics.live.outbound = queue
    metrics.live.clock = lambda: 1000.0
    samples = parsed(metrics)
    assert samples[("postier_relay_queue_length", frozenset())] == length
    assert samples[("postier_relay_queue_oldest_seconds", frozenset())] == pytest.approx(age)


def test_entry_time_is_the_id_s_microseconds() -> None:
    assert entry_time(f"{1_700_000_000_123_456:016x}abcd1234") == pytest.approx(
        1_700_000_000.123456
    )


class Held:
    """A gauge that keeps the level it was told."""

    def __init__(self) -> None:
        self.level = 0.0

    def inc(self, amount: float = 1) -> None:
        self.level += amount

    def dec(self, amount: float = 1) -> None:
        self.level -= amount


def test_index_lag_up_per_copy_down_once_indexed(tmp_path: Path) -> None:
    from postier.store.read import Indexer, Reader

    reader = Reader(tmp_path)
    gauge = Held()
    gate = threading.Event()
    synced = reader.sync

    def slow_sync(entries: set[str] | None = None) -> None:
        gate.wait(10)
        synced(entries)

    reader.sync = slow_sync  # type: ignore[method-assign]
    indexer = Indexer(reader, "mbox", delay=0.0, lag=gauge)
    try:
        indexer.delivered(["a@example.org", "b@example.org"])
        assert gauge.level == 2  # not yet indexed: the sync is held
        gate.set()
        assert indexer.wait_idle(10)
        assert gauge.level == 0
    finally:
        gate.set()
        indexer.close()
        reader.close()
