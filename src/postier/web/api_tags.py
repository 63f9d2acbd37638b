"""`/api/v1/tags` (Mailpit's): every tag, the tags of messages set, a tag renamed or
deleted. Tags live in the store's index (`store.read.tags`); the files are not rewritten.

`GET` answers the tags, sorted (a JSON array of names). `PUT /api/v1/tags` takes
`{"Tags": [...], "IDs": [...]}` and gives each message exactly those tags (an empty list
takes every tag off); `PUT /api/v1/tags/{tag}` takes `{"Name": "new"}` and renames it;
`DELETE /api/v1/tags/{tag}` takes it off every message. Each change answers `ok` (text,
as Mailpit); a name that cleans to nothing, a tag no message has, a rename onto another
tag that exists, are a 400 (Mailpit's answers); an ID the store does not hold is a 404,
and then no message is changed.
"""

from __future__ import annotations

import json

from aiohttp import web

from .context import context
from .errors import ApiError

OK = "ok"


async def get_tags(request: web.Request) -> web.Response:
    mail = context(request).mail
    return web.json_response(await mail.run(mail.reader.all_tags))


async def set_tags(request: web.Request) -> web.Response:
    keys = await _object(request, 'give {"Tags": [...], "IDs": [...]}')
    tags = _strings(keys.get("tags"), "Tags must be a list of tag names")
    ids = _strings(keys.get("ids"), "IDs must be a list of message IDs")
    if ids:
        mail = context(request).mail
        await mail.run(lambda: mail.reader.set_tags(ids, tags))
    return web.Response(text=OK)


async def rename_tag(request: web.Request) -> web.Response:
    tag = request.match_info["tag"]
    keys = await _object(request, 'give {"Name": "new name"}')
    name = keys.get("name")
    if not isinstance(name, str):
        raise ApiError(400, 'Name must be the new name of the tag, as in {"Name": "new name"}')
    mail = context(request).mail
    await mail.run(lambda: mail.reader.rename_tag(tag, name))
    return web.Response(text=OK)


async def delete_tag(request: web.Request) -> web.Response:
    tag = request.match_info["tag"]
    mail = context(request).mail
    await mail.run(lambda: mail.reader.delete_tag(tag))
    return web.Response(text=OK)


async def _object(request: web.Request, wanted: str) -> dict[str, object]:
    """The body, a JSON object, its keys in lower case (Go's decoder matches any case)."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, f"no body: {wanted}")
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"the body must be a JSON object: {wanted}")
    return {str(key).lower(): item for key, item in value.items()}


def _strings(value: object, problem: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, problem)
    return value
