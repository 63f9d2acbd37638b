"""A listener of a server process, and running several on one event loop until a signal.

SMTP is the first; HTTP and POP3 listeners join the same loop, in the same process, by
being a `Service` too: they share the process's store, TLS context and accounts
(`Shared`), its signals (SIGINT and SIGTERM stop every listener, SIGHUP reloads each),
its graceful shutdown and `--workers`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from postier.server.signals import handled

log = logging.getLogger("postier.server")

Ready = Callable[[list[str]], None]
"""Told, once every listener accepts, where the first listens (`--workers`' parent
logs `listening on` from it)."""


class Service(ABC):
    """One listener: what it serves, how it starts, takes up a reload, and stops."""

    @abstractmethod
    async def start(self) -> list[str]:
        """Bind and start accepting; where it listens (`host:port`). On ServerError it
        has released whatever it took."""

    @abstractmethod
    def announce(self) -> None:
        """Log what it offers, where (a worker leaves this to its parent)."""

    def reload(self) -> None:  # noqa: B027 - most listeners have nothing of their own to reload
        """SIGHUP, after `Shared.reload`: take up what was loaded again."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop accepting, let what is under way finish within its grace period, and
        release what it holds."""


async def run_services(
    services: Sequence[Service],
    *,
    reload: Callable[[], None],
    on_ready: Ready | None = None,
    announce: bool = True,
) -> None:
    """Start every service, run until SIGINT or SIGTERM, then stop them all gracefully.

    `reload` runs first on SIGHUP (the shared resources), then each service's own.
    Raises ServerError when one cannot start, after stopping those already started.
    """
    started: list[Service] = []
    addresses: list[str] = []
    try:
        for service in services:
            where = await service.start()
            started.append(service)
            addresses = addresses or where
    except BaseException:
        await _stop(started)
        raise

    def reload_all() -> None:
        reload()
        for service in started:
            service.reload()

    stop = asyncio.Event()
    try:
        with handled(asyncio.get_running_loop(), stop=stop.set, reload=reload_all):
            if announce:
                for service in started:
                    service.announce()
            if on_ready is not None:
                on_ready(addresses)
            await stop.wait()
    finally:
        await _stop(started)
        log.info("stopped")


async def _stop(services: Sequence[Service]) -> None:
    """Stop them together: their grace periods run at the same time, not one after another."""
    await asyncio.gather(*(service.stop() for service in services))
