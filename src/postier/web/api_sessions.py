"""postier's `/api/v1/sessions` and `/api/v1/session/{ID}`: the recent SMTP sessions of
this process and each one's dialogue, narrated by the parts of the brief (the page's
sessions view), in French or English; `/api/v1/message/{ID}/session`: the session that
delivered a message, while it is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from postier.explain.explainer import CATALOGUES
from postier.explain.language import Language
from postier.explain.parts import LABELS
from postier.explain.recorder import SessionRecord, SessionRecords
from postier.store.identity import postier_queue_id

from .context import context
from .errors import ApiError
from .shapes import rfc3339


def _moment(seconds: float | None) -> str | None:
    return None if seconds is None else rfc3339(datetime.fromtimestamp(seconds, UTC))


def summary(record: SessionRecord) -> dict[str, Any]:
    return {
        "ID": record.id,
        "Client": record.peer,
        "Started": _moment(record.started),
        "Ended": _moment(record.ended),
        "Accepted": record.accepted,
        "Refused": record.refused,
        "Messages": list(record.queue_ids),
    }


def language_of(request: web.Request) -> Language:
    """`?lang=fr|en`, else the browser's first choice between the two, else English."""
    asked = request.query.get("lang", "").strip().lower()
    if asked:
        if asked not in CATALOGUES:
            raise ApiError(400, "lang must be fr or en")
        return "fr" if asked == "fr" else "en"
    for item in request.headers.get("Accept-Language", "").split(","):
        tag = item.split(";")[0].strip().lower()
        if tag.startswith("fr"):
            return "fr"
        if tag.startswith("en"):
            return "en"
    return "en"


def _records(request: web.Request) -> SessionRecords:
    records = context(request).sessions
    if records is None:
        raise ApiError(404, "no SMTP sessions are kept here (postier web, or --sessions-kept 0)")
    return records


async def list_sessions(request: web.Request) -> web.Response:
    """Newest first, with their counts and the queue ids of what they delivered."""
    records = context(request).sessions
    shown = [] if records is None else [summary(record) for record in reversed(list(records))]
    kept = 0 if records is None else records.kept
    return web.json_response({"Kept": kept, "Sessions": shown})


async def get_session(request: web.Request) -> web.Response:
    record = _records(request).get(request.match_info["id"])
    if record is None:
        raise ApiError(404, f"no session {request.match_info['id']} is kept")
    return web.json_response(narrated(record, language_of(request)))


def narrated(record: SessionRecord, language: Language) -> dict[str, Any]:
    labels = LABELS[language]
    lines = [
        {"Time": _moment(at), "Part": labels[step.part], "Wire": step.wire, "Text": step.text}
        for at, step in record.narrated(CATALOGUES[language])
    ]
    return {**summary(record), "Language": language, "Lines": lines, "Dropped": record.dropped}


async def message_session(request: web.Request) -> web.Response:
    """The session that delivered the message, found by its `Received:` queue id."""
    records = _records(request)
    mail = context(request).mail
    ref = request.match_info["id"]
    head = await mail.run(lambda: mail.head(mail.resolve(ref)))
    queue_id = postier_queue_id(head)
    record = None if queue_id is None else records.delivered(queue_id.decode("ascii", "replace"))
    if record is None:
        raise ApiError(404, f"the session that delivered {ref} is not kept")
    return web.json_response(summary(record))
