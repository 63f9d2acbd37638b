"""Every failure of the HTTP API as a JSON object `{"Error": "..."}` with its status.

A handler raises `ApiError` (or lets the read side's errors through); routing's own
refusals (no such path: 404, a method the path does not take: 405, a body over the
limit: 413) are rewritten the same way. Anything else is a bug: the log gets the
traceback, the client a 500 that says only that.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from postier.store.read import (
    BadQuery,
    BadTag,
    IndexFailure,
    MailboxBusy,
    NoSuchMailbox,
    NoSuchMessage,
    NotAnAddress,
    ReaderError,
)

log = logging.getLogger("postier.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: Final[tuple[tuple[type[ReaderError], int], ...]] = (
    (BadQuery, 400),
    (NotAnAddress, 400),
    (BadTag, 400),
    (NoSuchMessage, 404),
    (NoSuchMailbox, 404),
    (MailboxBusy, 503),
    (IndexFailure, 503),
)
"""The read side's errors, by the status that says what went wrong; another is a 500."""


class ApiError(Exception):
    """A request the API refuses: its status and one line for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"Error": message}, status=status)


def reader_status(error: ReaderError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 500)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every refusal and failure into its JSON error."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.message)
    except ReaderError as error:
        return error_response(reader_status(error), str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = error_response(error.status, _routing_text(request, error))
        allowed = error.headers.get("Allow")
        if allowed is not None:
            response.headers["Allow"] = allowed
        return response
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error (see the server's log)")


def _routing_text(request: web.Request, error: web.HTTPException) -> str:
    """What a refusal of aiohttp's own (routing, body size) says, in the API's words."""
    if isinstance(error, web.HTTPNotFound):
        return f"no such path: {request.path}"
    if isinstance(error, web.HTTPMethodNotAllowed):
        return f"{request.method} is not allowed on {request.path}"
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return f"the body is too large: {error.text}"
    return error.reason
