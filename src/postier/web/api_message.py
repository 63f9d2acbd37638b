"""`/api/v1/message/{ID}` and what hangs from it: the message, its headers, its bytes,
one of its parts. `{ID}` may be `latest` (the newest message; of those that match
`?query=` when given), as in Mailpit."""

from __future__ import annotations

import asyncio
import re
from typing import Final
from urllib.parse import quote

from aiohttp import web

from . import headers, shapes
from .context import context
from .errors import ApiError
from .mail import CHUNK

_PART_ID: Final = re.compile(r"[0-9]+(\.[0-9]+)*")
SANDBOX: Final = (
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "font-src 'self' data:"
)
"""The policy of whatever a message's sender wrote, served from this origin (a part of
type text/html, a view): no script runs, it gets no origin of its own, loads nothing."""


async def resolved(request: web.Request, ref: str | None = None) -> str:
    mail = context(request).mail
    wanted = request.match_info["id"] if ref is None else ref
    query = request.query.get("query", "").strip()
    return await mail.run(lambda: mail.resolve(wanted, query))


async def get_message(request: web.Request) -> web.Response:
    """The message in Mailpit's `Message` shape; it is marked read, as Mailpit does."""
    mail = context(request).mail
    ref = await resolved(request)

    def shape() -> shapes.Json:
        opened = mail.open(ref, mark=True)
        block = opened.block
        return shapes.message(
            opened.found.summary,
            shown=opened.view,
            fields=opened.addressed(),
            unsubscribe=headers.unsubscribe(block),
            username=headers.username(block),
            found=opened.parts,
            tags=mail.reader.tags([ref]).get(ref, []),
        )

    return web.json_response(await mail.run(shape))


async def get_headers(request: web.Request) -> web.Response:
    """Its header fields: canonical name → values, as Go's `mail.Header`."""
    mail = context(request).mail
    ref = await resolved(request)
    block = await mail.run(lambda: mail.head(ref))
    return web.json_response(headers.headers_object(block))


async def get_raw(request: web.Request) -> web.StreamResponse:
    """Its bytes as stored (trace headers included), streamed a chunk at a time;
    `?dl=1` names it as a download, `ID.eml`."""
    mail = context(request).mail
    ref = await resolved(request)
    size, stream, close = await mail.run(lambda: mail.open_stream(ref))
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        if request.query.get("dl") == "1":
            response.headers["Content-Disposition"] = f'attachment; filename="{ref}.eml"'
        response.content_length = size
        await response.prepare(request)
        while chunk := await mail.run(lambda: stream.read(CHUNK)):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        # A client that leaves mid-way cancels the handler, and may cancel it again while
        # it closes: the closing is shielded, so the file is closed whatever comes.
        await asyncio.shield(asyncio.ensure_future(mail.run(close)))


async def get_part(request: web.Request) -> web.Response:
    """One attachment or inline part, decoded, with its own Content-Type."""
    mail = context(request).mail
    ref = await resolved(request)
    part_id = request.match_info["part"]
    found = None
    if _PART_ID.fullmatch(part_id):
        found = await mail.run(lambda: mail.part(ref, part_id))
    if found is None:
        raise ApiError(404, f"message {ref} has no part {part_id}")
    name = found.file_name or found.content_id or part_id
    content = await mail.run(found.content)
    return web.Response(
        body=content,
        headers={
            "Content-Type": found.content_type,
            "Content-Disposition": f'inline; filename="{quote(name, safe="")}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": SANDBOX,
        },
    )
