"""What every handler of one HTTP server shares: the store, and what it counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from postier.chaos import Chaos
from postier.explain.recorder import SessionRecords
from postier.stats import SmtpCounts

from .mail import Mail


@dataclass(slots=True)
class WebContext:
    mail: Mail
    smtp: Callable[[], SmtpCounts] = SmtpCounts
    """What the SMTP listener of the same process accepted and refused so far; none
    without one (`postier web`)."""
    chaos: Chaos | None = None
    """The chaos of the SMTP listener of the same process, shared; none without one."""
    started: float = field(default_factory=time.monotonic)
    deleted: int = 0
    """Messages deleted through this server."""
    sessions: SessionRecords | None = None
    """The SMTP sessions of this process kept for the sessions view (None: none are)."""


CONTEXT = web.AppKey("context", WebContext)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]
