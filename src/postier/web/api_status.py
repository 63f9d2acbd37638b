"""`/api/v1/info`, `/livez`, `/readyz` (as Mailpit's), and postier's `/api/v1/mailboxes`."""

from __future__ import annotations

import logging
import os
import resource
import time

from aiohttp import web

from postier import __version__

from . import shapes
from .context import context
from .errors import ApiError

log = logging.getLogger("postier.web")


def memory() -> int:
    """Bytes of memory this process holds now (its resident set), else at its peak."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def info(request: web.Request) -> web.Response:
    state = context(request)
    mail = state.mail

    def counts() -> tuple[int, int, int]:
        whole = mail.reader.messages(limit=0)
        try:
            size = os.stat(mail.reader.index_path).st_size
        except OSError:
            size = 0
        return whole.total, whole.unread, size

    total, unread, size = await mail.run(counts)
    smtp = state.smtp()
    stats = shapes.Stats(
        version=__version__,
        database=str(mail.reader.index_path),
        database_size=size,
        messages=total,
        unread=unread,
        uptime=int(time.monotonic() - state.started),
        memory=memory(),
        deleted=state.deleted,
        accepted=smtp.accepted,
        accepted_size=smtp.accepted_size,
        rejected=smtp.rejected,
    )
    tags = await mail.run(mail.reader.tag_counts)
    return web.json_response(shapes.info(stats, tags))


async def livez(request: web.Request) -> web.Response:
    """The process answers."""
    return web.Response()


async def readyz(request: web.Request) -> web.Response:
    """The store's index can be read (503 when it cannot)."""
    mail = context(request).mail
    try:
        await mail.run(mail.reader.last_seq)
    except Exception as error:
        log.warning("not ready: %s", error)
        raise ApiError(503, "not ready: the store's index cannot be read") from None
    return web.Response()


async def mailboxes(request: web.Request) -> web.Response:
    """Every recipient's mailbox, newest first: its address, counts, size, newest."""
    mail = context(request).mail
    lines = await mail.run(mail.reader.mailboxes)
    return web.json_response([shapes.mailbox(line) for line in lines])
