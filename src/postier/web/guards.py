"""The guards every route passes, whoever adds it (the page, the API, the WebSocket):
the `Host` check against DNS rebinding, then basic authentication.

A request without valid credentials gets a 401 with `WWW-Authenticate: Basic
realm="postier"` and a JSON error, whatever its path (an unknown path is a 401 too,
not a 404: nothing is told before the login).
"""

from __future__ import annotations

from aiohttp import web

from .context import context
from .errors import Handler, error_response
from .gate import OPEN, REALM, credentials
from .hosts import host_name


@web.middleware
async def allowed_host(request: web.Request, handler: Handler) -> web.StreamResponse:
    rule = context(request).hosts
    header = request.headers.get("Host")
    if rule is not None and header is not None and not rule.permits(header):
        return error_response(
            403,
            f"refused: this server answers to loopback names, not to {host_name(header)!r} "
            "(give --http-allow-host NAME to allow it)",
        )
    return await handler(request)


def refused(message: str) -> web.Response:
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = REALM
    return response


@web.middleware
async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    gate = context(request).gate
    if gate is None or request.path in OPEN:
        return await handler(request)
    given = credentials(request.headers.get("Authorization"))
    if given is None:
        return refused("authentication required")
    if not await gate.admit(*given, peer=request.remote or "?"):
        return refused("wrong user name or password")
    return await handler(request)
