"""`GET /metrics` (`--metrics`): the server's figures in Prometheus's text format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from .context import context
from .events import EventHub

if TYPE_CHECKING:
    from postier.metrics import Metrics

PATH: Final = "/metrics"


def attach(app: web.Application, metrics: Metrics, hub: EventHub) -> None:
    """Serve `metrics` on `PATH`; the web clients it counts are `hub`'s."""
    metrics.live.web_clients = hub.clients.__len__
    app.router.add_get(PATH, scrape, allow_head=False)


async def scrape(request: web.Request) -> web.Response:
    from postier.metrics import CONTENT_TYPE

    metrics = context(request).metrics
    assert metrics is not None  # the route exists only with them
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
