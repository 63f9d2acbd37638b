"""The web page: `/` and its few files under `/assets/`, shipped inside the package.

The files are named here, read once from the package and served from memory: no path of
a request ever reaches the file system, so none can read a file outside them. The page
is served with a strict Content-Security-Policy: its own script and style only, no
inline script, nothing loaded from elsewhere, and no other site may frame it. A
message's HTML is not the page's: it is shown in a sandboxed frame from `/view/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import web

from .errors import ApiError

PAGE_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
FILES: Final = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
"""Every file the page is made of, and its type: nothing else is served from `/assets/`."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load() -> dict[str, Asset]:
    folder = resources.files("postier.web") / "assets"
    found: dict[str, Asset] = {}
    for name, content_type in FILES.items():
        body = (folder / name).read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        found[name] = Asset(body, content_type, etag)
    return found


ASSETS = web.AppKey("assets", dict[str, Asset])


def _served(request: web.Request, name: str) -> web.Response:
    asset = request.app[ASSETS].get(name)
    if asset is None:
        raise ApiError(404, f"no such path: {request.path}")
    headers = {
        "Content-Type": asset.content_type,
        "ETag": asset.etag,
        "Cache-Control": "no-cache",  # asked again each time: a new postier, a new page
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": PAGE_POLICY,
    }
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers=headers)


async def index(request: web.Request) -> web.Response:
    response = _served(request, "index.html")
    response.headers["X-Frame-Options"] = "DENY"
    return response


async def asset(request: web.Request) -> web.Response:
    return _served(request, request.match_info["name"])
