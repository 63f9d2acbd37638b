"""The HTTP API's OpenAPI 3 document, served at `/api/v1/openapi.json`: every path the
server routes, its parameters, bodies and answers with their JSON schemas.

It is the one description of the API: the test suite checks that every route of the
application is in it and nothing else is, and has schemathesis send it generated
requests and hold each answer to it. The schemas follow `shapes` field for field and
allow nothing more (`additionalProperties: false`), so that a field added to an answer
without its description fails the suite.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from aiohttp import web

from postier import __version__

from .openapi_schemas import SCHEMAS, STRING, Json, array, ref
from .params import MAX_NUMBER

OPENAPI_PATH: Final = "/api/v1/openapi.json"

_JSON: Final = "application/json"
_TEXT: Final = "text/plain"


_ERRORS: Final[dict[int, str]] = {
    400: "A parameter or the body is not what the API takes.",
    401: "--http-auth is on and the request has no valid credentials.",
    403: "A change asked from another origin, or a Host header that is not this server's.",
    404: "No such message, part or mailbox (sa-check: the spam check is off).",
    408: "No message matched within the timeout.",
    413: "The body is over 5 MiB.",
    502: "The upstream server refused the message, or could not be reached.",
    503: "The store's index cannot be read or a mailbox is locked; try again.",
}


def _error(status: int) -> Json:
    return {"description": _ERRORS[status], "content": {_JSON: {"schema": ref("Error")}}}


def _json(description: str, schema: Json) -> Json:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _bytes(description: str, media: str) -> Json:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


_OK: Final = _bytes("Done: the text `ok`.", _TEXT)
_EMPTY: Final[Json] = {"description": "The process answers."}


def _operation(summary: str, ok: Json, *errors: int, **extra: Any) -> Json:
    """One operation: its 200 and its errors (401 and 403 may answer any request)."""
    responses: Json = {"200": ok}
    for status in sorted({*errors, 401, 403}):
        responses[str(status)] = _error(status)
    return {"summary": summary, "responses": responses, **extra}


def _query(name: str, description: str, schema: Json, *, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _path(name: str, description: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


_ID: Final = _path("id", "A message's ID, or `latest` (the newest; of those matching ?query=).")
_TAG: Final = _path("tag", "A tag's name, in any case.")
_LATEST_QUERY: Final = _query("query", "With `latest`: the newest of those that match.", STRING)
_NUMBER: Final[Json] = {"type": "integer", "minimum": 0, "maximum": MAX_NUMBER}
_PAGING: Final = [
    _query("start", "Skip this many (from 0).", _NUMBER),
    _query("limit", "At most this many (50 by default; 0: no limit).", _NUMBER),
    _query("mailbox", "Only the mailbox of this recipient address.", STRING),
]
_SEARCH: Final = _query(
    "query", "In the store's search syntax.", {"type": "string", "pattern": r"\S"}, required=True
)


def _body(name: str, *, required: bool) -> Json:
    """JSON (`{name}Body`), or a form (`{name}Form`) as the PyPI Mailpit client sends."""
    return {
        "required": required,
        "content": {
            _JSON: {"schema": ref(f"{name}Body")},
            "application/x-www-form-urlencoded": {"schema": ref(f"{name}Form")},
        },
    }


def _message(summary: str, ok: Json, *extra: Json) -> Json:
    return {"get": _operation(summary, ok, 400, 404, 503, parameters=[_ID, _LATEST_QUERY, *extra])}


def _health(summary: str, *errors: int) -> Json:
    operation = _operation(summary, _EMPTY, *errors)
    operation["security"] = []  # open with --http-auth too, as Mailpit leaves them
    return {"get": operation, "head": operation}


def _send_operation() -> Json:
    """`POST /api/v1/send`: its refusals may carry the SMTP server's own reply."""
    operation = _operation(
        "Compose a message (Mailpit's send) and submit it to this server's SMTP port: "
        "stored and relayed as SMTP mail is; the ID is the delivery's",
        _json("Stored.", ref("SendMessageConfirmation")),
        400,
        413,
        503,
        requestBody={"required": True, "content": {_JSON: {"schema": ref("SendRequest")}}},
    )
    refused = {_JSON: {"schema": ref("SendError")}}
    responses = operation["responses"]
    responses["400"] = {
        "description": "A bad request, or the SMTP server refused it for good (5xx).",
        "content": refused,
    }
    responses["503"] = {
        "description": "The SMTP server put it off (4xx) or could not be reached; try again.",
        "content": refused,
    }
    return operation


PATHS: Final[Json] = {
    "/api/v1/messages": {
        "get": _operation(
            "Messages, newest first",
            _json("A page of messages.", ref("MessagesSummary")),
            400,
            404,
            503,
            parameters=_PAGING,
        ),
        "put": _operation(
            "Mark messages read or unread: IDs, or those matching Search; neither: all",
            _OK,
            400,
            404,
            413,
            503,
            requestBody=_body("Change", required=True),
        ),
        "delete": _operation(
            "Delete messages by ID; without IDs, every message",
            _OK,
            400,
            404,
            413,
            503,
            requestBody=_body("Delete", required=False),
        ),
    },
    "/api/v1/search": {
        "get": _operation(
            "Messages that match a query, newest first",
            _json("A page of the matches.", ref("MessagesSummary")),
            400,
            404,
            503,
            parameters=[_SEARCH, *_PAGING],
        ),
        "delete": _operation(
            "Delete every message that matches a query",
            _OK,
            400,
            503,
            parameters=[_SEARCH],
        ),
    },
    "/api/v1/message/{id}": _message(
        "A message (it is marked read)", _json("The message.", ref("Message"))
    ),
    "/api/v1/message/{id}/headers": _message(
        "A message's header fields", _json("Its header fields.", ref("Headers"))
    ),
    "/api/v1/message/{id}/raw": _message(
        "A message's bytes as stored",
        _bytes("Its bytes.", _TEXT),
        _query("dl", "1: as a download named ID.eml.", STRING),
    ),
    "/api/v1/message/{id}/part/{part}": _message(
        "One attachment or inline part, decoded, with its own Content-Type",
        {"description": "The part's bytes.", "content": {"*/*": {"schema": {"type": "string"}}}},
        _path("part", "Its PartID (1.2)."),
    ),
    "/view/{id}.html": _message(
        "A message's HTML, sandboxed (it is marked read)", _bytes("Its HTML.", "text/html")
    ),
    "/view/{id}.txt": _message("A message's text (it is marked read)", _bytes("Its text.", _TEXT)),
    "/api/v1/info": {
        "get": _operation(
            "The server and its store",
            _json("What the server knows of itself.", ref("AppInformation")),
            503,
        )
    },
    "/api/v1/mailboxes": {
        "get": _operation(
            "Every recipient's mailbox (postier's own)",
            _json("The mailboxes, newest first.", array(ref("Mailbox"))),
            503,
        )
    },
    "/api/v1/wait": {
        "get": _operation(
            "The newest message that matches, as soon as there is one (postier's own)",
            _json("The message's summary.", ref("MessageSummary")),
            400,
            404,
            408,
            503,
            parameters=[
                _query("query", "In the store's search syntax; empty: any message.", STRING),
                _query("mailbox", "Only the mailbox of this recipient address.", STRING),
                _query(
                    "timeout",
                    "Seconds to wait, 30 by default.",
                    {"type": "number", "minimum": 0, "maximum": 300},
                ),
            ],
        )
    },
    "/api/v1/sessions": {
        "get": _operation(
            "The recent SMTP sessions of this process, newest first (postier's own)",
            _json(
                "The sessions kept (none without SMTP, or with --sessions-kept 0).", ref("Sessions")
            ),
        )
    },
    "/api/v1/session/{id}": {
        "get": _operation(
            "One session's dialogue, narrated by the parts of the brief (postier's own)",
            _json("The session, line by line.", ref("NarratedSession")),
            400,
            404,
            parameters=[
                _path("id", "A session's ID, as /api/v1/sessions lists it."),
                _query(
                    "lang",
                    "fr or en; by default the browser's (Accept-Language), else en.",
                    STRING,
                ),
            ],
        )
    },
    "/api/v1/message/{id}/session": _message(
        "The session that delivered the message, while it is kept (postier's own)",
        _json("The session's summary.", ref("Session")),
    ),
    "/api/v1/chaos": {
        "get": _operation(
            "The chaos triggers (Mailpit's, and postier's own beside them)",
            _json("The triggers as they stand.", ref("ChaosTriggers")),
            400,
        ),
        "put": _operation(
            "Set the chaos triggers; a trigger left out is reset (as Mailpit's)",
            _json("The triggers as they stand now.", ref("ChaosTriggers")),
            400,
            413,
            requestBody={
                "required": True,
                "content": {_JSON: {"schema": ref("ChaosBody")}},
            },
        ),
    },
    "/api/v1/message/{id}/release": {
        "post": _operation(
            "Send the message on to the recipients named, through the upstream of --relay "
            "(Mailpit's release)",
            _OK,
            400,
            404,
            413,
            502,
            503,
            parameters=[_ID, _LATEST_QUERY],
            requestBody={"required": True, "content": {_JSON: {"schema": ref("ReleaseBody")}}},
        ),
    },
    "/api/v1/send": {"post": _send_operation()},
    "/api/v1/message/{id}/html-check": _message(
        "Which HTML and CSS features the message's HTML uses, and how well the mail clients "
        "support each (caniemail's data; Mailpit's HTML check, with a score per family); "
        "400: the message has no HTML",
        _json("The check.", ref("HTMLCheckResponse")),
    ),
    "/api/v1/message/{id}/link-check": _message(
        "The message's links; with --link-check, what a HEAD request to each answers "
        "(never a private address without --link-check-private) (Mailpit's link check)",
        _json("The links.", ref("LinkCheckResponse")),
        _query(
            "follow",
            "true: follow each redirect (every hop checked as the link was); otherwise a "
            "redirect's 3xx is the link's answer.",
            {"type": "boolean"},
        ),
    ),
    "/api/v1/message/{id}/sa-check": _message(
        "The message's spam score and the rules that fired, from the SpamAssassin daemon "
        "of --spamd (404 without it); a daemon that fails is named in Error "
        "(Mailpit's SpamAssassin check)",
        _json("The verdict.", ref("SpamAssassinResponse")),
    ),
    "/api/v1/webui": {
        "get": _operation(
            "What the page offers: release, and where it goes (Mailpit's)",
            _json("The configuration.", ref("WebUIConfiguration")),
        ),
    },
    "/api/v1/tags": {
        "get": _operation(
            "Every tag of the store's messages, sorted (Mailpit's)",
            _json("The tags' names.", array(STRING)),
        ),
        "put": _operation(
            "Give the messages IDs exactly the tags Tags (none: no tag), in the index; "
            "a delivery's ID tags each of its copies (Mailpit's)",
            _OK,
            400,
            404,
            413,
            503,
            requestBody={"required": True, "content": {_JSON: {"schema": ref("SetTagsBody")}}},
        ),
    },
    "/api/v1/tags/{tag}": {
        "put": _operation(
            "Rename a tag on every message; a 400 for a tag no message has, or a new name "
            "that another tag has (Mailpit's)",
            _OK,
            400,
            404,
            413,
            503,
            parameters=[_TAG],
            requestBody={
                "required": True,
                "content": {_JSON: {"schema": ref("RenameTagBody")}},
            },
        ),
        "delete": _operation(
            "Take a tag off every message; a 400 for a tag no message has (Mailpit's)",
            _OK,
            400,
            404,
            503,
            parameters=[_TAG],
        ),
    },
    "/api/events": {
        "get": _operation(
            "Live events over a WebSocket: new, update, delete, truncate, stats (as Mailpit's)",
            {"description": "Never: the WebSocket handshake answers 101."},
            400,
        )
    },
    "/": {"get": _operation("The web page", _bytes("The page.", "text/html"))},
    "/assets/{name}": {
        "get": _operation(
            "One of the page's files (its script, style and icon)",
            {"description": "The file, with its type.", "content": {"*/*": {}}},
            404,
            parameters=[_path("name", "The file's name, as the page links it.")],
        )
    },
    OPENAPI_PATH: {
        "get": _operation("This document", _json("The OpenAPI document.", {"type": "object"}))
    },
    "/livez": _health("The process answers"),
    "/readyz": _health("The store's index can be read", 503),
}


@cache
def document() -> Json:
    """The whole document (built once)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "postier",
            "version": __version__,
            "description": (
                "Mailpit's API v1 (the parts test helpers use, with its paths, fields and "
                "semantics) and postier's additions, over postier's store. Every error is "
                'a JSON object {"Error": "..."}.'
            ),
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
        "security": [{}, {"basic": []}],
    }


async def serve(request: web.Request) -> web.Response:
    """`GET /api/v1/openapi.json`."""
    return web.json_response(document())
