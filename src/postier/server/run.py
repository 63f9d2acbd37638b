"""Runs the server as the settings say: in this process, or in `--workers` processes; or
the HTTP API alone over a store (`postier web`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from postier.server.errors import ServerError
from postier.server.http import HttpListener, HttpOptions
from postier.server.process import run_loop, serve
from postier.server.service import run_services
from postier.server.tls import reload_certificate, server_context
from postier.server.workers import run_workers
from postier.settings import Settings
from postier.store.read import Reader, ReaderError


def run(settings: Settings) -> None:
    """Run the server until a signal stops it; raises ServerError when it cannot."""
    if settings.workers > 1:
        run_workers(settings)
    else:
        run_loop(serve(settings))


def serve_web(
    store: Path,
    host: str,
    port: int,
    options: HttpOptions | None = None,
    *,
    certificate: Path | None = None,
    key: Path | None = None,
    tags_from_plus: bool = False,
) -> None:
    """`postier web`: the API alone over the store at `store`, until SIGINT or SIGTERM;
    over HTTPS with `certificate`, which SIGHUP loads again; `tags_from_plus`: as
    `serve --tags-from-plus`. Raises ServerError."""
    options = options or HttpOptions()
    live = server_context(certificate, key)
    options = replace(options, tls=live)

    def reload() -> None:
        if live is not None and certificate is not None:
            reload_certificate(live, certificate, key)

    if not store.is_dir():
        raise ServerError(f"no store at {store}: give --store DIR, as given to postier serve")
    try:
        reader = Reader(store, tags_from_plus=tags_from_plus)
    except (ReaderError, OSError) as error:
        raise ServerError(f"cannot read the store {store}: {error}") from None
    try:
        listener = HttpListener(reader, host, port, store=store, options=options)
        run_loop(run_services([listener], reload=reload))
    finally:
        reader.close()
