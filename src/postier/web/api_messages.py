"""`/api/v1/messages` and `/api/v1/search`: lists, read state and deletion, as Mailpit's."""

from __future__ import annotations

from aiohttp import web

from postier.store.read import NoSuchMessage

from . import shapes
from .context import context
from .errors import ApiError
from .mail import Mail
from .params import Body, body, paging, search_text

OK = "ok"
"""What Mailpit answers a change with (text/plain)."""


async def listing(request: web.Request, query: str) -> web.Response:
    mail = context(request).mail
    wanted = paging(request)
    mailbox = request.query.get("mailbox") or None
    found, whole, facts, tags = await mail.run(
        lambda: mail.page(mailbox, query, wanted.start, wanted.limit)
    )
    summaries = [shapes.summary(item, facts[item.id]) for item in found.messages]
    return web.json_response(shapes.listing(found, whole, wanted.start, summaries, tags))


async def list_messages(request: web.Request) -> web.Response:
    """`GET /api/v1/messages`: newest first; postier's `?mailbox=ADDRESS` for one mailbox."""
    return await listing(request, "")


async def search(request: web.Request) -> web.Response:
    """`GET /api/v1/search?query=`: the matches, newest first, in the store's syntax."""
    return await listing(request, search_text(request))


async def set_read(request: web.Request) -> web.Response:
    """`PUT /api/v1/messages`: `{"IDs": [...], "Read": bool}` or `{"Search": ..., "Read":
    bool}`; neither IDs nor Search marks every message (Mailpit's rule)."""
    given = await body(request)
    if given is None:
        raise ApiError(400, 'no body: give {"IDs": [...], "Read": true} or {"Search": ...}')
    if given.ids and given.search:
        raise ApiError(400, "give either IDs or Search, not both")
    mail = context(request).mail
    read = bool(given.read)
    await mail.run(lambda: _mark(mail, given, read))
    return web.Response(text=OK)


def _mark(mail: Mail, given: Body, read: bool) -> None:
    reader = mail.reader
    if given.search:
        ids = [item.id for item in reader.messages(query=given.search, limit=None).messages]
    elif given.ids:
        ids = given.ids
    else:
        reader.sync()
        ids = sorted(reader.all_ids())
    reader.mark(ids, read=read)


async def delete_messages(request: web.Request) -> web.Response:
    """`DELETE /api/v1/messages`: `{"IDs": [...]}`; no body, or no IDs, deletes every
    message (Mailpit's rule). An ID the store does not hold is a 404 and nothing is
    deleted."""
    given = await body(request)
    state = context(request)
    mail = state.mail
    if given is None or not given.ids:
        state.deleted += await mail.run(mail.reader.delete_all)
    else:
        ids = given.ids
        state.deleted += len(await mail.run(lambda: mail.reader.delete(ids)))
    return web.Response(text=OK)


async def delete_search(request: web.Request) -> web.Response:
    """`DELETE /api/v1/search?query=`: every message that matches."""
    query = search_text(request)
    state = context(request)
    mail = state.mail

    def matching() -> int:
        found = mail.reader.messages(query=query, limit=None).messages
        try:
            return len(mail.reader.delete([item.id for item in found]))
        except NoSuchMessage:  # one went meanwhile: the others still go
            return len(mail.reader.delete(_still_there(mail, [i.id for i in found])))

    state.deleted += await mail.run(matching)
    return web.Response(text=OK)


def _still_there(mail: Mail, ids: list[str]) -> list[str]:
    held = mail.reader.all_ids(deliveries=True)
    return [id_ for id_ in ids if id_ in held]
