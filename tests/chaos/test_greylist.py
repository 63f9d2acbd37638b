"""Greylisting's memory, on a clock the test moves: put off until the delay has passed
since the first attempt, never before; bounded whatever the number of triples."""

from __future__ import annotations

from postier.chaos import Chaos, ChaosConfig, Greylist


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


TRIPLE = ("127.0.0.1", "a@b.test", "c@d.test")


def test_the_first_attempt_waits_and_a_retry_passes_only_after_the_delay() -> None:
    clock = Clock()
    greylist = Greylist(clock=clock)
    assert greylist.wait(TRIPLE, 30) == 30
    clock.now += 29.5
    assert greylist.wait(TRIPLE, 30) == 0.5  # too early: still put off...
    clock.now += 0.4
    assert greylist.wait(TRIPLE, 30) > 0  # ...the first sighting unchanged
    clock.now += 0.1
    assert greylist.wait(TRIPLE, 30) == 0
    clock.now += 3600
    assert greylist.wait(TRIPLE, 30) == 0  # once passed, it stays passed


def test_each_part_of_the_triple_counts() -> None:
    clock = Clock()
    greylist = Greylist(clock=clock)
    greylist.wait(TRIPLE, 10)
    clock.now += 11
    assert greylist.wait(TRIPLE, 10) == 0
    for other in (
        ("127.0.0.2", "a@b.test", "c@d.test"),
        ("127.0.0.1", "x@b.test", "c@d.test"),
        ("127.0.0.1", "a@b.test", "x@d.test"),
    ):
        assert greylist.wait(other, 10) == 10


def test_the_memory_is_bounded_and_forgets_the_least_recently_seen() -> None:
    clock = Clock()
    greylist = Greylist(clock=clock, capacity=100)
    greylist.wait(TRIPLE, 10)
    for number in range(1000):
        greylist.wait(("10.0.0.1", "s@t", f"r{number}@t"), 10)
        if number % 50 == 0:
            greylist.wait(TRIPLE, 10)  # kept fresh: never the one forgotten
    assert len(greylist) == 100
    clock.now += 10
    assert greylist.wait(TRIPLE, 10) == 0
    assert greylist.wait(("10.0.0.1", "s@t", "r0@t"), 10) == 10  # forgotten: starts over


def test_chaos_greylists_by_address_whatever_its_case_and_forgets_when_turned_off() -> None:
    clock = Clock()
    chaos = Chaos(ChaosConfig(greylist=5), clock=clock)
    assert chaos.greylisted("::1", "A@B.test", "C@D.test") == 5
    clock.now += 5
    assert chaos.greylisted("::1", "a@b.test", "c@d.TEST") == 0
    chaos.configure(ChaosConfig())
    assert chaos.greylisted("::1", "a@b.test", "c@d.test") == 0  # off
    assert len(chaos.greylist) == 0
    chaos.configure(ChaosConfig(greylist=5))
    assert chaos.greylisted("::1", "a@b.test", "c@d.test") == 5
