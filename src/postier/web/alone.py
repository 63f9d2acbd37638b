"""`postier web`: the HTTP API alone, over a store that exists already (no SMTP)."""

from __future__ import annotations

from pathlib import Path

from postier.server.errors import ServerError
from postier.server.process import run_loop
from postier.server.service import run_services
from postier.store.read import Reader, ReaderError

from .server import HttpServer
from .service import HttpService


def serve_store(store: Path, host: str, port: int) -> None:
    """Serve the store at `store` until SIGINT or SIGTERM; raises ServerError."""
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
