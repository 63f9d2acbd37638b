"""Runs the server as the settings say: in this process, or in `--workers` processes."""

from __future__ import annotations

from postier.server.process import run_loop, serve
from postier.server.workers import run_workers
from postier.settings import Settings


def run(settings: Settings) -> None:
    """Run the server until a signal stops it; raises ServerError when it cannot."""
    if settings.workers > 1:
        run_workers(settings)
    else:
        run_loop(serve(settings))
