"""Chaos's dice: seeded, a run repeats; over many rolls a trigger fires as often as it
says (within four standard deviations); one that is off never rolls."""

from __future__ import annotations

import math

import pytest

from postier.chaos import Chaos, ChaosConfig, ChaosError, FixedChaos, Trigger


def rolls(chaos: Chaos, trigger: Trigger, count: int) -> list[bool]:
    return [chaos.fires(trigger) for _ in range(count)]


def test_a_seed_repeats_the_run_and_another_seed_does_not() -> None:
    trigger = Trigger(451, 30)
    first = rolls(Chaos(seed=7), trigger, 500)
    assert rolls(Chaos(seed=7), trigger, 500) == first
    assert rolls(Chaos(seed=8), trigger, 500) != first


@pytest.mark.parametrize("probability", [0, 1, 10, 30, 50, 99, 100])
def test_a_trigger_fires_as_often_as_it_says(probability: int) -> None:
    count = 10_000
    fired = sum(rolls(Chaos(seed=probability), Trigger(451, probability), count))
    p = probability / 100
    sigma = math.sqrt(p * (1 - p) / count)
    assert abs(fired / count - p) <= 4 * sigma


def test_a_trigger_that_is_off_draws_nothing() -> None:
    chaos, twin = Chaos(seed=3), Chaos(seed=3)
    for _ in range(10):
        chaos.fires(Trigger(451, 0))
    assert rolls(chaos, Trigger(451, 50), 100) == rolls(twin, Trigger(451, 50), 100)


def test_workers_chaos_cannot_change_at_run_time() -> None:
    chaos = FixedChaos(ChaosConfig(sender=Trigger(451, 5)))
    with pytest.raises(ChaosError, match="--workers"):
        chaos.configure(ChaosConfig())
    assert chaos.config.sender.probability == 5
