"""`ClientLimits`: per-address connection counts and leaky error scores, on a fake clock."""

from __future__ import annotations

import pytest

from postier.server.client_limits import MAX_TRACKED, ClientLimits, Over, normalize
from postier.settings import parse_networks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(
    clock: Clock, *, exempt: str = "none", connections: int = 2, errors: int = 10
) -> ClientLimits:
    return ClientLimits(
        max_connections=connections,
        max_errors=errors,
        error_window=100.0,
        exempt=parse_networks(exempt),
        clock=clock,
    )


def test_connections_at_once_per_address() -> None:
    table = limits(Clock())
    for _ in range(2):
        assert table.refusal("192.0.2.1") is None
        table.opened("192.0.2.1")
    over = table.refusal("192.0.2.1")
    assert over is not None and over.limit is Over.CONNECTIONS
    assert "192.0.2.1" in over.reason
    assert table.refusal("192.0.2.2") is None, "another address keeps its own slots"
    table.closed("192.0.2.1")
    assert table.refusal("192.0.2.1") is None
    table.closed("192.0.2.1")
    table.closed("192.0.2.1")  # never below zero, never left behind
    assert table.connections("192.0.2.1") == 0


def test_errors_trip_the_limit_and_leak_away() -> None:
    clock = Clock()
    table = limits(clock)
    table.record_errors("192.0.2.1", 9)
    assert table.refusal("192.0.2.1") is None
    table.record_errors("192.0.2.1", 1)
    over = table.refusal("192.0.2.1")
    assert over is not None and over.limit is Over.ERRORS
    assert table.refusal("192.0.2.9") is None
    clock.now += 10  # 10 errors leak per 100 s: one has gone
    assert table.refusal("192.0.2.1") is None
    clock.now += 1000
    table.record_errors("192.0.2.1", 9)
    assert table.refusal("192.0.2.1") is None, "the old burst is forgotten"


def test_a_steady_trickle_below_the_rate_never_trips() -> None:
    clock = Clock()
    table = limits(clock)
    for _ in range(1000):
        table.record_errors("192.0.2.1", 1)
        clock.now += 11  # a little slower than 10 per 100 s
    assert table.refusal("192.0.2.1") is None


@pytest.mark.parametrize(
    ("exempt", "ip", "is_exempt"),
    [
        ("127.0.0.0/8, ::1", "127.0.0.1", True),
        ("127.0.0.0/8, ::1", "127.9.9.9", True),
        ("127.0.0.0/8, ::1", "::1", True),
        ("127.0.0.0/8, ::1", "192.0.2.1", False),
        ("none", "127.0.0.1", False),
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "not an address", False),
    ],
)
def test_exempt_addresses_have_no_limits(exempt: str, ip: str, is_exempt: bool) -> None:
    table = limits(Clock(), exempt=exempt, connections=1, errors=1)
    table.opened(ip)
    table.record_errors(ip, 5)
    assert table.exempt(ip) is is_exempt
    assert (table.refusal(ip) is None) is is_exempt


def test_zero_turns_a_limit_off() -> None:
    table = limits(Clock(), connections=0, errors=0)
    for _ in range(50):
        table.opened("192.0.2.1")
        table.record_errors("192.0.2.1", 100)
    assert table.refusal("192.0.2.1") is None


def test_error_scores_are_bounded_in_number() -> None:
    clock = Clock()
    table = limits(clock)
    for n in range(MAX_TRACKED + 10):
        table.record_errors(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 5)
    assert len(table._errors) <= MAX_TRACKED


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("unknown", "unknown"),
    ],
)
def test_normalize(raw: str, key: str) -> None:
    assert normalize(raw) == key


@pytest.mark.parametrize("text", ["10.0.0.0/33", "example.test", "1.2.3.4, nope"])
def test_bad_networks_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an address or network"):
        parse_networks(text)
