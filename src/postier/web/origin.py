"""Refusing changes asked by a page of another site: a request that changes the store
(PUT, DELETE, POST) whose `Origin` names another origin than this server's own gets a
403. Browsers send `Origin` with every such request, so a page elsewhere cannot delete
the mail; a test client sends none and is let through.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from .errors import Handler, error_response

CHANGING: Final = frozenset({"PUT", "DELETE", "POST", "PATCH"})


def own_origin(request: web.Request) -> str:
    """This server's origin as the client addressed it: scheme and `Host`."""
    return f"{request.scheme}://{request.host}".lower()


@web.middleware
async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    foreign = origin is not None and origin.strip().lower() != own_origin(request)
    if request.method in CHANGING and foreign:
        return error_response(403, f"refused: a change asked from another origin ({origin})")
    return await handler(request)
