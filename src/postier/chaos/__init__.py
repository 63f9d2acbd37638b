"""Chaos for testing how applications cope: SMTP failures made on purpose, off by default.

`triggers.py` is what may fail and how often (from `--chaos`, or Mailpit's JSON through
`PUT /api/v1/chaos`); `greylist.py` the memory of greylisting; `dice.py` the one object
a process shares between its SMTP sessions and its HTTP API, which rolls the dice.
"""

from postier.chaos.dice import Chaos, FixedChaos
from postier.chaos.greylist import Greylist
from postier.chaos.triggers import (
    ChaosConfig,
    ChaosError,
    Trigger,
    from_mailpit,
    parse_chaos,
    to_mailpit,
)

__all__ = [
    "Chaos",
    "ChaosConfig",
    "ChaosError",
    "FixedChaos",
    "Greylist",
    "Trigger",
    "from_mailpit",
    "parse_chaos",
    "to_mailpit",
]
