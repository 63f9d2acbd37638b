"""`GET/PUT /api/v1/chaos`: the chaos triggers in Mailpit's JSON, changeable at run time.

The object is the SMTP listener's own (same process, same loop): a PUT holds from SMTP's
next command on. Mailpit's three triggers keep its shape and rules (`Sender`,
`Recipient`, `Authentication`, each `{"ErrorCode", "Probability"}`; one left out is
reset); postier's own (`Data`, `Disconnect`, `Delay`, `Greylist`) sit beside them.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from postier.chaos import Chaos, ChaosError, from_mailpit, to_mailpit

from .context import context
from .errors import ApiError

log = logging.getLogger("postier.web")


def _chaos(request: web.Request) -> Chaos:
    chaos = context(request).chaos
    if chaos is None:
        # Mailpit's words when chaos is off; here, there is no SMTP server to fail.
        raise ApiError(400, "Chaos is not enabled: no SMTP server in this process (postier web)")
    return chaos


async def get_chaos(request: web.Request) -> web.Response:
    return web.json_response(to_mailpit(_chaos(request).config))


async def set_chaos(request: web.Request) -> web.Response:
    chaos = _chaos(request)
    raw = await request.read()  # aiohttp refuses more than MAX_BODY with a 413
    if not raw.strip():
        raise ApiError(400, "no body: send the triggers as JSON ({} turns chaos off)")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    try:
        chaos.configure(from_mailpit(body))
    except ChaosError as error:
        raise ApiError(400, str(error)) from None
    return web.json_response(to_mailpit(chaos.config))
