"""postier's `GET /api/v1/wait?query=...&timeout=SECONDS`: the newest message that
matches the query, as soon as one is in the store (at once when one already is), or a
408 at the timeout: what an end-to-end test needs instead of polling in a loop.

The store's change announcements wake the wait as soon as this process learns of new
mail (its own SMTP listener's deliveries, or a look that found another's); between
them it looks at the files every `POLL` seconds, for mail filed by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Final

from aiohttp import web

from postier.store.read import Change

from . import shapes
from .context import context
from .errors import ApiError

DEFAULT_TIMEOUT: Final = 30.0
MAX_TIMEOUT: Final = 300.0
POLL: Final = 0.25


def timeout_of(request: web.Request) -> float:
    if "timeout" not in request.query:
        return DEFAULT_TIMEOUT
    try:
        value = float(request.query["timeout"])
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_TIMEOUT:
        raise ApiError(400, f"timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}")
    return value


async def wait(request: web.Request) -> web.Response:
    query = request.query.get("query", "").strip()
    mailbox = request.query.get("mailbox") or None
    timeout = timeout_of(request)
    mail = context(request).mail
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()

    def heard(change: Change) -> None:
        if change.kind == "new":
            loop.call_soon_threadsafe(arrived.set)

    unsubscribe = mail.reader.subscribe(heard)
    deadline = time.monotonic() + timeout
    try:
        while True:
            arrived.clear()
            found, _, facts, _ = await mail.run(lambda: mail.page(mailbox, query, 0, 1))
            if found.messages:
                first = found.messages[0]
                return web.json_response(shapes.summary(first, facts[first.id]))
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(408, f"no message matched within {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), min(POLL, left))
    finally:
        unsubscribe()
