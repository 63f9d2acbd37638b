"""The HTTP API as a listener of a server process (`server.service.Service`): started,
announced and stopped with the others on the one event loop; and `postier web`, which
runs it alone over an existing store."""

from __future__ import annotations

import logging
from pathlib import Path

from postier.server.errors import ServerError
from postier.server.process import run_loop
from postier.server.service import Service, run_services
from postier.store.read import Reader, ReaderError

from .server import HttpServer

log = logging.getLogger("postier.web")


class HttpService(Service):
    """The API on one address, over `reader` (which the caller closes)."""

    def __init__(self, server: HttpServer, store: Path) -> None:
        self.server = server
        self.store = store

    async def start(self) -> list[str]:
        return await self.server.start()

    def announce(self) -> None:
        """The line that says where the API is (tests read the port there)."""
        log.info("HTTP API on %s; store %s", self.server.url(), self.store)

    async def stop(self) -> None:
        await self.server.stop()


def serve_store(store: Path, host: str, port: int) -> None:
    """`postier web`: serve the store at `store` until SIGINT or SIGTERM."""
    if not store.is_dir():
        raise ServerError(f"no store at {store}: give --store DIR, as given to postier serve")
    try:
        reader = Reader(store)
    except (ReaderError, OSError) as error:
        raise ServerError(f"cannot read the store {store}: {error}") from None
    try:
        service = HttpService(HttpServer(reader, host, port), store)
        run_loop(run_services([service], reload=lambda: None))
    finally:
        reader.close()
