"""The HTTP API as a listener of a server process (`server.service.Service`): started,
announced and stopped with the others, on the one event loop."""

from __future__ import annotations

import logging
from pathlib import Path

from postier.server.service import Service

from .server import HttpServer, PortTakenError

log = logging.getLogger("postier.web")


class HttpService(Service):
    """The API on one address, over a reader its caller closes.

    `optional`: the port was not named (the default one); when another program has it,
    the server goes on without the API and says so in one line. `log_at_start`: log the
    API's address as soon as it listens (a `--workers` worker, whose parent announces
    only SMTP, does that for the API it alone serves).
    """

    def __init__(
        self, server: HttpServer, store: Path, *, optional: bool = False, log_at_start: bool = False
    ) -> None:
        self.server = server
        self.store = store
        self.optional = optional
        self.log_at_start = log_at_start
        self.serving = False

    async def start(self) -> list[str]:
        try:
            where = await self.server.start()
        except PortTakenError as taken:
            if not self.optional:
                raise
            log.warning(
                "HTTP API not served: %s; give --http-port PORT (0: any free port) or --no-http",
                taken,
            )
            return []
        self.serving = True
        if self.log_at_start:
            self.announce()
        return where

    def announce(self) -> None:
        """The line that says where the API is (tests read the port there)."""
        if self.serving:
            log.info("HTTP API on %s; store %s", self.server.url(), self.store)

    async def stop(self) -> None:
        if self.serving:
            self.serving = False
            await self.server.stop()
