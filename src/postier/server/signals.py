"""The signals a server process answers: SIGINT and SIGTERM stop it, SIGHUP reloads it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Final

STOPPING: Final = (signal.SIGTERM, signal.SIGINT)
"""Stop gracefully: listeners close, sessions under way get their grace period."""
RELOADING: Final = signal.SIGHUP
"""Load the certificate and the password file again."""
HANDLED: Final = (*STOPPING, RELOADING)
"""Every signal a server answers (and `--workers`' parent passes on to its workers)."""


@contextlib.contextmanager
def handled(
    loop: asyncio.AbstractEventLoop, *, stop: Callable[[], None], reload: Callable[[], None]
) -> Iterator[None]:
    """Within the block, the loop calls `stop` on SIGINT or SIGTERM and `reload` on SIGHUP."""
    for signum in STOPPING:
        loop.add_signal_handler(signum, stop)
    loop.add_signal_handler(RELOADING, reload)
    try:
        yield
    finally:
        for signum in HANDLED:
            loop.remove_signal_handler(signum)
