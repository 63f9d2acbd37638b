"""One narrated step, and what receives the steps (the terminal, a recorder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .parts import Part


@dataclass(frozen=True, slots=True)
class Narration:
    """A step of session `session`: the part that does it, what went over the wire (a
    `C: `/`S: ` line exactly as sent, or empty), and what it means."""

    session: int
    part: Part
    wire: str
    text: str


class Sink(Protocol):
    """Takes each narration as it happens, on the event loop: it must not block long."""

    def __call__(self, step: Narration) -> None: ...
