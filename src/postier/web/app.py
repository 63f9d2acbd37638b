"""The HTTP API's routes: Mailpit's API v1 paths, and postier's additions."""

from __future__ import annotations

from aiohttp import web

from . import api_chaos, api_message, api_messages, api_sessions, api_status, api_wait, views
from .context import CONTEXT, WebContext
from .errors import json_errors
from .origin import same_origin
from .params import MAX_BODY


def build_app(state: WebContext) -> web.Application:
    """The application, reading the store through `state.mail`."""
    app = web.Application(middlewares=[json_errors, same_origin], client_max_size=MAX_BODY)
    app[CONTEXT] = state
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
            web.get("/view/{name}", views.view, allow_head=False),
            web.get("/api/v1/info", api_status.info, allow_head=False),
            web.get("/api/v1/mailboxes", api_status.mailboxes, allow_head=False),
            web.get("/api/v1/wait", api_wait.wait, allow_head=False),
            web.get("/api/v1/sessions", api_sessions.list_sessions, allow_head=False),
            web.get("/api/v1/session/{id}", api_sessions.get_session, allow_head=False),
            web.get("/api/v1/message/{id}/session", api_sessions.message_session, allow_head=False),
            web.get("/api/v1/chaos", api_chaos.get_chaos, allow_head=False),
            web.put("/api/v1/chaos", api_chaos.set_chaos),
            web.get("/livez", api_status.livez),
            web.get("/readyz", api_status.readyz),
        ]
    )
    return app
