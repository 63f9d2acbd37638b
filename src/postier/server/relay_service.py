"""The outbound queue's deliverer as a service of the server process: started with the
listeners, stopped with them (a message being sent when it stops is sent again at the
next start, see `postier.relay.deliverer`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from postier.relay import Deliverer
from postier.server.service import Service

log = logging.getLogger("postier.relay")


class RelayService(Service):
    """Runs a `Deliverer` on the process's event loop."""

    def __init__(self, deliverer: Deliverer, *, matches: str) -> None:
        self.deliverer = deliverer
        self._matches = matches
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> list[str]:
        self.deliverer.queue.ensure()
        self._task = asyncio.create_task(self.deliverer.run(), name="postier-relay")
        self._task.add_done_callback(_died)
        return []

    def announce(self) -> None:
        log.info("relaying %s to %s", self._matches, self.deliverer.upstream)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _died(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the relay stopped: %s", task.exception(), exc_info=task.exception())
