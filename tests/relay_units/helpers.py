"""What the relay's unit tests share: entries, configurations and a clock they control."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP

from postier.relay import QueueEntry, RelayConfig, Upstream
from tests.client.servers import LoopbackController

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


class ClosingController(LoopbackController):
    """aiosmtpd on 127.0.0.1, port 0, whose `stop` first waits (bounded) for every
    connection to be closed on its side too: stopping its loop before that callback runs
    leaves a socket to the garbage collector, and its ResourceWarning to a later test."""

    def __init__(self, handler: Any, **options: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **options)
        self.connections = 0
        """Open on the server's side; changed on its loop only."""

    def factory(self) -> SMTP:
        smtp = super().factory()
        made, lost = smtp.connection_made, smtp.connection_lost

        def connection_made(transport: asyncio.BaseTransport) -> None:
            self.connections += 1
            made(transport)

        def connection_lost(error: Exception | None) -> None:
            try:
                lost(error)
            finally:
                self.connections -= 1

        smtp.connection_made = connection_made  # type: ignore[method-assign]
        smtp.connection_lost = connection_lost  # type: ignore[method-assign]
        return smtp

    def stop(self, no_assert: bool = False) -> None:
        deadline = time.monotonic() + 10
        while self.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        super().stop(no_assert)
