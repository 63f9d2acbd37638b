"""`/view/{ID}.html` and `/view/{ID}.txt`: a message's HTML or text alone, as Mailpit
serves them for tests to look at (the message is marked read, as Mailpit does).

The HTML is the sender's: it is served with a Content-Security-Policy that sandboxes it
(no script runs, it gets no origin of its own, so it cannot reach the API) and lets it
load nothing from elsewhere (`?remote=1`: images, styles and fonts from elsewhere, when
the reader asks); its `cid:` images point at their parts in the API.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Final

from aiohttp import web

from .api_message import SANDBOX, resolved
from .context import context
from .errors import ApiError
from .mail import Opened
from .parts import Part

_ID: Final = re.compile(r"[A-Za-z0-9]+")
"""What an ID (or `latest`) is made of; anything else names no message."""
VIEW_POLICY: Final = f"{SANDBOX}; form-action 'none'; base-uri 'none'"
"""The HTML as it is opened: nothing runs, nothing is loaded from elsewhere (opening a
message does not tell its sender), no form is sent and no `<base>` moves its links."""
REMOTE_POLICY: Final = (
    "sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; "
    "font-src * data:; media-src *; form-action 'none'; base-uri 'none'"
)
"""`?remote=1`, when the reader asks the page to load remote content: its images, styles
and fonts come from where they are; still no script, no frame, no request of its own."""


def linked(html: str, message_id: str, found: list[Part]) -> str:
    """`cid:` references to the message's parts made links to them in the API."""
    for part in found:
        if not part.content_id:
            continue
        target = f"/api/v1/message/{message_id}/part/{part.part_id}"
        pattern = re.compile(
            r"""(=\s*["']?)cid:""" + re.escape(part.content_id) + r"""(?=["'\s/>;)])""", re.I
        )
        html = pattern.sub(partial(_pointed, target), html)
    return html


def _pointed(target: str, match: re.Match[str]) -> str:
    return match[1] + target


async def _opened(request: web.Request) -> Opened:
    wanted = request.match_info["id"]
    if _ID.fullmatch(wanted) is None:
        raise ApiError(404, f"no message {wanted}")
    mail = context(request).mail
    ref = await resolved(request, wanted)
    return await mail.run(lambda: mail.open(ref, mark=True))


async def view_text(request: web.Request) -> web.Response:
    """`/view/{ID}.txt`."""
    opened = await _opened(request)
    return web.Response(text=opened.view.text or "", content_type="text/plain")


async def view_html(request: web.Request) -> web.Response:
    """`/view/{ID}.html`."""
    opened = await _opened(request)
    if opened.view.html is None:
        raise ApiError(404, f"message {opened.found.id} has no HTML part")
    return web.Response(
        text=linked(opened.view.html, opened.found.id, opened.parts),
        content_type="text/html",
        headers={
            "Content-Security-Policy": (
                REMOTE_POLICY if request.query.get("remote") == "1" else VIEW_POLICY
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
