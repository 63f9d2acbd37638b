"""`GET /api/events`: the live events, on a WebSocket, as Mailpit's page hears them.

The socket checks its `Origin` as the changing requests do (`origin`): a browser opens
a WebSocket to any site without asking it, so a page elsewhere must not read the mail's
subjects as they arrive. What a client sends is read (to see it close) and ignored.

No compression is negotiated (`compress=False`: aiohttp then leaves a client's offer of
permessage-deflate unanswered, RFC 7692 §5): the hub writes the same bytes, plain text
frames made once for every socket (`events`, `wire`), to each; deflate would make each
socket's stream its own, compressed on the loop once a socket.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from .errors import ApiError
from .events import HUB
from .origin import own_origin

HEARTBEAT: Final = 30.0
"""Seconds between pings; a client that does not answer one is closed."""
MAX_INCOMING: Final = 4096
"""Bytes a client's frame may hold: it has nothing to say."""


async def events(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is not None and origin.strip().lower() != own_origin(request):
        raise ApiError(403, f"refused: live events asked from another origin ({origin})")
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_INCOMING, compress=False)
    if not socket.can_prepare(request).ok:
        raise ApiError(400, "/api/events is a WebSocket: ask for an upgrade")
    hub = request.app[HUB]
    await socket.prepare(request)
    client = hub.join(socket, request)
    if client is None:
        await socket.close(code=1001, message=b"server shutdown")
        return socket
    try:
        async for _ in socket:
            pass
    finally:
        hub.leave(client)
    return socket
