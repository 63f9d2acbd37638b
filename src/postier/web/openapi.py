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
from typing import Final

from aiohttp import web

from postier import __version__

from .openapi_parts import (
    ID,
    JSON_MEDIA,
    LATEST_QUERY,
    OK_ANSWER,
    PAGING,
    SEARCH,
    TAG,
    TEXT_MEDIA,
    build_operation,
    bytes_answer,
    form_body,
    health_path,
    json_answer,
    message_path,
    path_param,
    query_param,
    send_operation,
)
from .openapi_schemas import SCHEMAS, STRING, Json, array, ref

OPENAPI_PATH: Final = "/api/v1/openapi.json"

PATHS: Final[Json] = {
    "/api/v1/messages": {
        "get": build_operation(
            "Messages, newest first",
            json_answer("A page of messages.", ref("MessagesSummary")),
            400,
            404,
            503,
            parameters=PAGING,
        ),
        "put": build_operation(
            "Mark messages read or unread: IDs, or those matching Search; neither: all",
            OK_ANSWER,
            400,
            404,
            413,
            503,
            requestBody=form_body("Change", required=True),
        ),
        "delete": build_operation(
            "Delete messages by ID; without IDs, every message",
            OK_ANSWER,
            400,
            404,
            413,
            503,
            requestBody=form_body("Delete", required=False),
        ),
    },
    "/api/v1/search": {
        "get": build_operation(
            "Messages that match a query, newest first",
            json_answer("A page of the matches.", ref("MessagesSummary")),
            400,
            404,
            503,
            parameters=[SEARCH, *PAGING],
        ),
        "delete": build_operation(
            "Delete every message that matches a query",
            OK_ANSWER,
            400,
            503,
            parameters=[SEARCH],
        ),
    },
    "/api/v1/message/{id}": message_path(
        "A message (it is marked read)", json_answer("The message.", ref("Message"))
    ),
    "/api/v1/message/{id}/headers": message_path(
        "A message's header fields", json_answer("Its header fields.", ref("Headers"))
    ),
    "/api/v1/message/{id}/raw": message_path(
        "A message's bytes as stored",
        bytes_answer("Its bytes.", TEXT_MEDIA),
        query_param("dl", "1: as a download named ID.eml.", STRING),
    ),
    "/api/v1/message/{id}/part/{part}": message_path(
        "One attachment or inline part, decoded, with its own Content-Type",
        {"description": "The part's bytes.", "content": {"*/*": {"schema": {"type": "string"}}}},
        path_param("part", "Its PartID (1.2)."),
    ),
    "/view/{id}.html": message_path(
        "A message's HTML, sandboxed (it is marked read)", bytes_answer("Its HTML.", "text/html")
    ),
    "/view/{id}.txt": message_path(
        "A message's text (it is marked read)", bytes_answer("Its text.", TEXT_MEDIA)
    ),
    "/api/v1/info": {
        "get": build_operation(
            "The server and its store",
            json_answer("What the server knows of itself.", ref("AppInformation")),
            503,
        )
    },
    "/api/v1/mailboxes": {
        "get": build_operation(
            "Every recipient's mailbox (postier's own)",
            json_answer("The mailboxes, newest first.", array(ref("Mailbox"))),
            503,
        )
    },
    "/api/v1/wait": {
        "get": build_operation(
            "The newest message that matches, as soon as there is one (postier's own)",
            json_answer("The message's summary.", ref("MessageSummary")),
            400,
            404,
            408,
            503,
            parameters=[
                query_param("query", "In the store's search syntax; empty: any message.", STRING),
                query_param("mailbox", "Only the mailbox of this recipient address.", STRING),
                query_param(
                    "timeout",
                    "Seconds to wait, 30 by default.",
                    {"type": "number", "minimum": 0, "maximum": 300},
                ),
            ],
        )
    },
    "/api/v1/sessions": {
        "get": build_operation(
            "The recent SMTP sessions of this process, newest first (postier's own)",
            json_answer(
                "The sessions kept (none without SMTP, or with --sessions-kept 0).", ref("Sessions")
            ),
        )
    },
    "/api/v1/session/{id}": {
        "get": build_operation(
            "One session's dialogue, narrated by the parts of the brief (postier's own)",
            json_answer("The session, line by line.", ref("NarratedSession")),
            400,
            404,
            parameters=[
                path_param("id", "A session's ID, as /api/v1/sessions lists it."),
                query_param(
                    "lang",
                    "fr or en; by default the browser's (Accept-Language), else en.",
                    STRING,
                ),
            ],
        )
    },
    "/api/v1/message/{id}/session": message_path(
        "The session that delivered the message, while it is kept (postier's own)",
        json_answer("The session's summary.", ref("Session")),
    ),
    "/api/v1/chaos": {
        "get": build_operation(
            "The chaos triggers (Mailpit's, and postier's own beside them)",
            json_answer("The triggers as they stand.", ref("ChaosTriggers")),
            400,
        ),
        "put": build_operation(
            "Set the chaos triggers; a trigger left out is reset (as Mailpit's)",
            json_answer("The triggers as they stand now.", ref("ChaosTriggers")),
            400,
            413,
            requestBody={
                "required": True,
                "content": {JSON_MEDIA: {"schema": ref("ChaosBody")}},
            },
        ),
    },
    "/api/v1/message/{id}/release": {
        "post": build_operation(
            "Send the message on to the recipients named, through the upstream of --relay "
            "(Mailpit's release)",
            OK_ANSWER,
            400,
            404,
            413,
            502,
            503,
            parameters=[ID, LATEST_QUERY],
            requestBody={"required": True, "content": {JSON_MEDIA: {"schema": ref("ReleaseBody")}}},
        ),
    },
    "/api/v1/send": {"post": send_operation()},
    "/api/v1/message/{id}/html-check": message_path(
        "Which HTML and CSS features the message's HTML uses, and how well the mail clients "
        "support each (caniemail's data; Mailpit's HTML check, with a score per family); "
        "400: the message has no HTML",
        json_answer("The check.", ref("HTMLCheckResponse")),
    ),
    "/api/v1/message/{id}/link-check": message_path(
        "The message's links; with --link-check, what a HEAD request to each answers "
        "(never a private address without --link-check-private) (Mailpit's link check)",
        json_answer("The links.", ref("LinkCheckResponse")),
        query_param(
            "follow",
            "true: follow each redirect (every hop checked as the link was); otherwise a "
            "redirect's 3xx is the link's answer.",
            {"type": "boolean"},
        ),
    ),
    "/api/v1/message/{id}/sa-check": message_path(
        "The message's spam score and the rules that fired, from the SpamAssassin daemon "
        "of --spamd (404 without it); a daemon that fails is named in Error "
        "(Mailpit's SpamAssassin check)",
        json_answer("The verdict.", ref("SpamAssassinResponse")),
    ),
    "/api/v1/webui": {
        "get": build_operation(
            "What the page offers: release, and where it goes (Mailpit's)",
            json_answer("The configuration.", ref("WebUIConfiguration")),
        ),
    },
    "/api/v1/tags": {
        "get": build_operation(
            "Every tag of the store's messages, sorted (Mailpit's)",
            json_answer("The tags' names.", array(STRING)),
        ),
        "put": build_operation(
            "Give the messages IDs exactly the tags Tags (none: no tag), in the index; "
            "a delivery's ID tags each of its copies (Mailpit's)",
            OK_ANSWER,
            400,
            404,
            413,
            503,
            requestBody={"required": True, "content": {JSON_MEDIA: {"schema": ref("SetTagsBody")}}},
        ),
    },
    "/api/v1/tags/{tag}": {
        "put": build_operation(
            "Rename a tag on every message; a 400 for a tag no message has, or a new name "
            "that another tag has (Mailpit's)",
            OK_ANSWER,
            400,
            404,
            413,
            503,
            parameters=[TAG],
            requestBody={
                "required": True,
                "content": {JSON_MEDIA: {"schema": ref("RenameTagBody")}},
            },
        ),
        "delete": build_operation(
            "Take a tag off every message; a 400 for a tag no message has (Mailpit's)",
            OK_ANSWER,
            400,
            404,
            503,
            parameters=[TAG],
        ),
    },
    "/api/events": {
        "get": build_operation(
            "Live events over a WebSocket: new, update, delete, truncate, stats (as Mailpit's)",
            {"description": "Never: the WebSocket handshake answers 101."},
            400,
        )
    },
    "/": {"get": build_operation("The web page", bytes_answer("The page.", "text/html"))},
    "/assets/{name}": {
        "get": build_operation(
            "One of the page's files (its script, style and icon)",
            {"description": "The file, with its type.", "content": {"*/*": {}}},
            404,
            parameters=[path_param("name", "The file's name, as the page links it.")],
        )
    },
    OPENAPI_PATH: {
        "get": build_operation(
            "This document", json_answer("The OpenAPI document.", {"type": "object"})
        )
    },
    "/livez": health_path("The process answers"),
    "/readyz": health_path("The store's index can be read", 503),
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
