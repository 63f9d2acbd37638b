"""The chaos of one process: its settings, changeable while it runs, and its dice.

One `Chaos` is shared by every SMTP session of a process and by its HTTP API (all on
one event loop, so no lock is needed): `PUT /api/v1/chaos` replaces the settings and the
next command rolls with them. With `--seed` the dice are a `random.Random` of that seed,
so a test run is repeatable (as long as its commands come in the same order).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from postier.chaos.greylist import Greylist
from postier.chaos.triggers import ChaosConfig, ChaosError, Trigger

log = logging.getLogger("postier.chaos")


class Chaos:
    """What may fail now, and the dice that say whether it does."""

    def __init__(
        self,
        config: ChaosConfig | None = None,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or ChaosConfig()
        self._random = random.Random(seed)
        self.greylist = Greylist(clock=clock)

    def configure(self, config: ChaosConfig) -> None:
        """New settings, from the next command on; greylisting forgets what it saw
        when it is turned off."""
        if not config.greylist:
            self.greylist.clear()
        self.config = config
        log.info("chaos: %s", config.describe())

    def fires(self, trigger: Trigger) -> bool:
        """Whether this command fails: `probability` times in 100."""
        probability = trigger.probability
        # No roll when it cannot fire: a seeded run draws the same numbers whatever
        # the triggers that are off.
        return probability > 0 and self._random.randrange(100) < probability

    def disconnects(self) -> bool:
        probability = self.config.disconnect
        return probability > 0 and self._random.randrange(100) < probability

    def greylisted(self, client: str, sender: str, recipient: str) -> float:
        """Seconds this triple must still wait (0: not greylisted)."""
        delay = self.config.greylist
        if not delay:
            return 0.0
        return self.greylist.wait((client, sender.lower(), recipient.lower()), delay)


class FixedChaos(Chaos):
    """The chaos of a `--workers` process: each worker has its own, so a change through
    the API (served by the first worker alone) would reach only that worker's
    connections; it is refused instead, and the command line's settings stay."""

    def configure(self, config: ChaosConfig) -> None:
        raise ChaosError(
            "chaos cannot change while --workers runs several processes (each has its "
            "own); restart with --chaos, or without --workers"
        )
