"""What a request asks for, checked: paging, search text, timeouts and JSON bodies.

Paging is Mailpit's (`start` from 0, `limit` 50 by default, `limit=0` for no limit);
values that are no whole number (an empty one included) are refused with a 400, where
Mailpit silently takes its defaults. Body keys are matched in any case, as Go's JSON
decoder matches them (`{"ids": [...]}` is `{"IDs": [...]}`); a null is as if the key
were not given, and keys the API does not know are ignored. A body may also be a form
(`application/x-www-form-urlencoded`: `IDs=a&IDs=b&Read=true`), which is what the PyPI
Mailpit client sends; its `Read` is one of the words Go's `strconv.ParseBool` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from .errors import ApiError

DEFAULT_LIMIT: Final = 50
MAX_BODY: Final = 5 * 1024 * 1024
"""Bytes a request body may hold (Mailpit's limit too); more is a 413."""
_FORM: Final = "application/x-www-form-urlencoded"
_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})
MAX_NUMBER: Final = 2**63 - 1
"""The largest `start` or `limit` (what SQLite's integers hold)."""


def whole_number(query: Mapping[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    text = query[name].strip()
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_NUMBER):
        raise ApiError(400, f"{name} must be a whole number of 0 or more, not {text!r}")
    return int(text)


def query_flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false query parameter, spelled as Go's `strconv.ParseBool` takes it."""
    if name not in query:
        return default
    text = query[name].strip()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise ApiError(400, f"{name} must be true or false, not {text!r}")


@dataclass(frozen=True, slots=True)
class Paging:
    start: int
    limit: int | None
    """None: every message from `start` (`limit=0`)."""


def paging(request: web.Request) -> Paging:
    start = whole_number(request.query, "start", 0)
    limit = whole_number(request.query, "limit", DEFAULT_LIMIT)
    return Paging(start, limit or None)


def search_text(request: web.Request) -> str:
    """`?query=`, required (as Mailpit has it for `/search`)."""
    text = request.query.get("query", "").strip()
    if not text:
        raise ApiError(400, "no search query: give ?query=")
    return text


@dataclass(frozen=True, slots=True)
class Body:
    """A change's body: `IDs`, `Read`, `Search`, each absent when not given."""

    ids: list[str] | None
    read: bool | None
    search: str | None


async def body(request: web.Request) -> Body | None:
    """The body of a PUT or DELETE; None when there is none."""
    raw = await request.read()  # aiohttp refuses more than MAX_BODY with a 413
    if not raw.strip():
        return None
    if request.content_type == _FORM:
        return _from_form(await request.post())
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body must be a JSON object")
    keys = {key.lower(): item for key, item in value.items()}
    return Body(
        ids=_ids(keys.get("ids")),
        read=_flag(keys.get("read")),
        search=_text(keys.get("search")),
    )


def _ids(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "IDs must be a list of message IDs")
    return value


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ApiError(400, "Read must be true or false")


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, "Search must be a string")


def _from_form(form: Mapping[str, object]) -> Body:
    values: dict[str, list[str]] = {}
    for key, item in form.items():
        if isinstance(item, str):
            values.setdefault(key.lower(), []).append(item)
    read = values.get("read")
    if read is not None and (len(read) != 1 or read[0] not in _TRUE | _FALSE):
        raise ApiError(400, "Read must be true or false")
    search = values.get("search")
    return Body(
        ids=values.get("ids"),
        read=None if read is None else read[0] in _TRUE,
        search=None if search is None else search[-1],
    )
