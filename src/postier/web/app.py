"""The HTTP server's routes: Mailpit's API v1 paths, postier's additions, the live
events and the page."""

from __future__ import annotations

from aiohttp import web

from . import (
    api_chaos,
    api_checks,
    api_events,
    api_message,
    api_messages,
    api_metrics,
    api_release,
    api_send,
    api_sessions,
    api_status,
    api_tags,
    api_wait,
    openapi,
    page,
    views,
)
from .context import CONTEXT, WebContext
from .errors import json_errors
from .events import HUB, EventHub
from .guards import allowed_host, basic_auth
from .origin import same_origin
from .params import MAX_BODY


def build_app(state: WebContext) -> web.Application:
    """The application, reading the store through `state.mail`.

    Its middlewares, outermost first: every failure as JSON; the `Host` check against
    DNS rebinding; basic authentication; the refusal of changes from another origin.
    Each applies to every route, whoever adds it."""
    app = web.Application(
        middlewares=[json_errors, allowed_host, basic_auth, same_origin],
        client_max_size=MAX_BODY,
    )
    app[CONTEXT] = state
    app[HUB] = hub = EventHub(state.mail)
    app.on_shutdown.append(hub.close)
    app[page.ASSETS] = page.load()
    app.add_routes(
        [
            web.get("/api/v1/messages", api_messages.list_messages, allow_head=False),
            web.put("/api/v1/messages", api_messages.set_read),
            web.delete("/api/v1/messages", api_messages.delete_messages),
            web.get("/api/v1/search", api_messages.search, allow_head=False),
            web.delete("/api/v1/search", api_messages.delete_search),
            web.get("/api/v1/message/{id}", api_message.get_message, allow_head=False),
            web.get("/api/v1/message/{id}/headers", api_message.get_headers, allow_head=False),
            web.get("/api/v1/message/{id}/raw", api_message.get_raw, allow_head=False),
            web.get("/api/v1/message/{id}/part/{part}", api_message.get_part, allow_head=False),
            web.get("/view/{id}.html", views.view_html, allow_head=False),
            web.get("/view/{id}.txt", views.view_text, allow_head=False),
            web.get("/api/v1/info", api_status.info, allow_head=False),
            web.get("/api/v1/mailboxes", api_status.mailboxes, allow_head=False),
            web.get("/api/v1/wait", api_wait.wait, allow_head=False),
            web.get("/api/v1/sessions", api_sessions.list_sessions, allow_head=False),
            web.get("/api/v1/session/{id}", api_sessions.get_session, allow_head=False),
            web.get("/api/v1/message/{id}/session", api_sessions.message_session, allow_head=False),
            web.get("/api/events", api_events.events, allow_head=False),
            web.get("/", page.index, allow_head=False),
            web.get("/assets/{name}", page.asset, allow_head=False),
            web.get("/api/v1/chaos", api_chaos.get_chaos, allow_head=False),
            web.put("/api/v1/chaos", api_chaos.set_chaos),
            web.post("/api/v1/message/{id}/release", api_release.release_message),
            web.get("/api/v1/webui", api_release.webui, allow_head=False),
            web.post("/api/v1/send", api_send.send_message),
            web.get("/api/v1/message/{id}/html-check", api_checks.html_check, allow_head=False),
            web.get("/api/v1/message/{id}/link-check", api_checks.link_check, allow_head=False),
            web.get("/api/v1/message/{id}/sa-check", api_checks.sa_check, allow_head=False),
            web.get("/api/v1/tags", api_tags.get_tags, allow_head=False),
            web.put("/api/v1/tags", api_tags.set_tags),
            web.put("/api/v1/tags/{tag}", api_tags.rename_tag),
            web.delete("/api/v1/tags/{tag}", api_tags.delete_tag),
            web.get("/livez", api_status.livez),
            web.get("/readyz", api_status.readyz),
            web.get(openapi.OPENAPI_PATH, openapi.serve, allow_head=False),
        ]
    )
    if state.metrics is not None:  # `--metrics`; otherwise the path is not found
        api_metrics.attach(app, state.metrics, hub)
    return app
