"""What the relay's unit tests share: entries, configurations and a clock they control."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from postier.relay import QueueEntry, RelayConfig, Upstream

T0 = 1_800_000_000.0
"""A wall-clock instant the tests start their fake clocks at."""


def entry(name: str = "0000000000000001abcd0001", **changes: object) -> QueueEntry:
    """A plausible entry, with `changes` applied."""
    base = QueueEntry(
        id=name,
        queue_id="Q1",
        sender="sender@in.test",
        recipients=("a@out.test",),
        size=10,
        eight_bit=False,
        smtputf8=False,
        queued_at=T0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def config(
    *, match: tuple[str, ...] = (), exclude: tuple[str, ...] = (), port: int = 25, **more: object
) -> RelayConfig:
    return RelayConfig(
        Upstream("127.0.0.1", port, timeout=5.0),
        tuple(re.compile(p) for p in match),
        tuple(re.compile(p) for p in exclude),
        **more,  # type: ignore[arg-type]
    )


@dataclass
class Clock:
    """A wall clock that moves only when told."""

    now: float = T0

    def __call__(self) -> float:
        return self.now
