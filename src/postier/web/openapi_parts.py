"""The building blocks of the OpenAPI document (`openapi`): answers, errors, parameters
and the operations several paths share."""

from __future__ import annotations

from typing import Any, Final

from .openapi_schemas import STRING, Json, ref
from .params import MAX_NUMBER

JSON_MEDIA: Final = "application/json"
TEXT_MEDIA: Final = "text/plain"


ERRORS: Final[dict[int, str]] = {
    400: "A parameter or the body is not what the API takes.",
    401: "--http-auth is on and the request has no valid credentials.",
    403: "A change asked from another origin, or a Host header that is not this server's.",
    404: "No such message, part or mailbox (sa-check: the spam check is off).",
    408: "No message matched within the timeout.",
    413: "The body is over 5 MiB.",
    502: "The upstream server refused the message, or could not be reached.",
    503: "The store's index cannot be read or a mailbox is locked; try again.",
}


def error_answer(status: int) -> Json:
    return {"description": ERRORS[status], "content": {JSON_MEDIA: {"schema": ref("Error")}}}


def json_answer(description: str, schema: Json) -> Json:
    return {"description": description, "content": {JSON_MEDIA: {"schema": schema}}}


def bytes_answer(description: str, media: str) -> Json:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


OK_ANSWER: Final = bytes_answer("Done: the text `ok`.", TEXT_MEDIA)
EMPTY_ANSWER: Final[Json] = {"description": "The process answers."}


def build_operation(summary: str, ok: Json, *errors: int, **extra: Any) -> Json:
    """One operation: its 200 and its errors (401 and 403 may answer any request)."""
    responses: Json = {"200": ok}
    for status in sorted({*errors, 401, 403}):
        responses[str(status)] = error_answer(status)
    return {"summary": summary, "responses": responses, **extra}


def query_param(name: str, description: str, schema: Json, *, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


ID: Final = path_param("id", "A message's ID, or `latest` (the newest; of those matching ?query=).")
TAG: Final = path_param("tag", "A tag's name, in any case.")
LATEST_QUERY: Final = query_param("query", "With `latest`: the newest of those that match.", STRING)
NUMBER: Final[Json] = {"type": "integer", "minimum": 0, "maximum": MAX_NUMBER}
PAGING: Final = [
    query_param("start", "Skip this many (from 0).", NUMBER),
    query_param("limit", "At most this many (50 by default; 0: no limit).", NUMBER),
    query_param("mailbox", "Only the mailbox of this recipient address.", STRING),
]
SEARCH: Final = query_param(
    "query", "In the store's search syntax.", {"type": "string", "pattern": r"\S"}, required=True
)


def form_body(name: str, *, required: bool) -> Json:
    """JSON (`{name}Body`), or a form (`{name}Form`) as the PyPI Mailpit client sends."""
    return {
        "required": required,
        "content": {
            JSON_MEDIA: {"schema": ref(f"{name}Body")},
            "application/x-www-form-urlencoded": {"schema": ref(f"{name}Form")},
        },
    }


def message_path(summary: str, ok: Json, *extra: Json) -> Json:
    return {
        "get": build_operation(summary, ok, 400, 404, 503, parameters=[ID, LATEST_QUERY, *extra])
    }


def health_path(summary: str, *errors: int) -> Json:
    operation = build_operation(summary, EMPTY_ANSWER, *errors)
    operation["security"] = []  # open with --http-auth too, as Mailpit leaves them
    return {"get": operation, "head": operation}


def send_operation() -> Json:
    """`POST /api/v1/send`: its refusals may carry the SMTP server's own reply."""
    operation = build_operation(
        "Compose a message (Mailpit's send) and submit it to this server's SMTP port: "
        "stored and relayed as SMTP mail is; the ID is the delivery's",
        json_answer("Stored.", ref("SendMessageConfirmation")),
        400,
        413,
        503,
        requestBody={"required": True, "content": {JSON_MEDIA: {"schema": ref("SendRequest")}}},
    )
    refused = {JSON_MEDIA: {"schema": ref("SendError")}}
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
