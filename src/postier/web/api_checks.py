"""A message's checks, in Mailpit's shapes: `GET /api/v1/message/{ID}/html-check` (its
HTML against the mail clients), `/link-check` (its links; tested only with
`--link-check`), `/sa-check` (its spam score from `--spamd`; off without it). None marks
the message read."""

from __future__ import annotations

from aiohttp import web

from postier.checks import check_html, check_links, links_of, spam_check

from .api_message import resolved
from .context import context
from .errors import ApiError
from .params import query_flag


async def html_check(request: web.Request) -> web.Response:
    mail = context(request).mail
    ref = await resolved(request)
    opened = await mail.run(lambda: mail.open(ref, mark=False))
    html = opened.view.html
    if not html:
        raise ApiError(400, "message does not contain HTML")
    return web.json_response(await mail.run(lambda: check_html(html)))


async def link_check(request: web.Request) -> web.Response:
    """`?follow=true`: a redirect is followed (each hop checked as the link was);
    otherwise its 3xx is the link's answer (Mailpit's default)."""
    state = context(request)
    follow = query_flag(request.query, "follow", default=False)
    mail = state.mail
    ref = await resolved(request)
    opened = await mail.run(lambda: mail.open(ref, mark=False))
    links = await mail.run(lambda: links_of(opened.view.html, opened.view.text))
    return web.json_response(await check_links(links, state.checks.links, follow=follow))


async def sa_check(request: web.Request) -> web.Response:
    state = context(request)
    address = state.checks.spamd
    if address is None:
        raise ApiError(404, "the spam check is off: start postier serve with --spamd HOST:PORT")
    mail = state.mail
    ref = await resolved(request)
    raw = await mail.run(lambda: b"".join(mail.chunks(ref)))
    return web.json_response(await spam_check(address, raw))
