"""What every handler of one HTTP server shares: the store, and what it counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from postier.chaos import Chaos
from postier.checks import ChecksConfig
from postier.explain import SessionRecords
from postier.relay import RelayConfig
from postier.stats import SmtpCounts

from .gate import Gate
from .hosts import HostRule
from .mail import Mail

if TYPE_CHECKING:
    from postier.metrics import Metrics


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
    gate: Gate | None = None
    """Who may use the server (`--http-auth`); None: anybody who can reach it."""
    hosts: HostRule | None = None
    """The `Host` names it answers to (bound to loopback); None: any."""
    sessions: SessionRecords | None = None
    """The SMTP sessions of this process kept for the sessions view (None: none are)."""
    relay: RelayConfig | None = None
    """Where a release goes (`--relay`); None: releases are refused."""
    hostname: str | None = None
    """The name the server gives itself in EHLO to the upstream."""
    submit: Callable[[], tuple[str, int] | None] | None = None
    """Where the SMTP listener of the same process takes mail (`POST /api/v1/send`
    submits there, on loopback); None without one (`postier web`)."""
    metrics: Metrics | None = None
    """`--metrics`: the server's figures, served on `GET /metrics`; None: not served."""
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    """What the message checks may do (`--spamd`, `--link-check*`)."""


CONTEXT = web.AppKey("context", WebContext)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]
