"""`POST /api/v1/send` (Mailpit's): compose a message from JSON, as `postier send` does
from its options, and submit it to this process's own SMTP port on loopback.

It goes where mail from any SMTP client goes: the recipient policy (`--accept`,
`--reject`), chaos, the store, and the relay's intake; Bcc recipients are in the
envelope only. The answer is `{"ID": ...}`, the ID of the delivery the server stored
(`store.delivery_id` of the queue id in its 250): all mail lists the message under it,
`GET /api/v1/message/{ID}` opens its lead copy (Bcc shown, as Mailpit shows it), a
DELETE deletes every copy; each recipient's copy has its own ID beside it
(`?mailbox=ADDRESS`). When the server split the recipients over several transactions
(452, too many recipients), it is the first transaction's, which holds the first
recipient the server took.

A refusal on the way is the SMTP server's own reply, in `{"Error", "Reply",
"Refused"}`: 400 when it is permanent (5xx: that request will never be taken), 503
when it is temporary (4xx, a lost connection: the same request may be taken later).
When the server took the message for some recipients only, the error also holds the
`ID` of what it stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from postier.client import (
    Client,
    ClientError,
    RecipientsRefusedError,
    SendResult,
    compose,
)
from postier.protocol.smtp import AddressError, Reply, catalogue
from postier.store import delivery_id
from postier.store.read import NoSuchMessage

from .context import WebContext, context
from .errors import ApiError
from .send_body import send_request

log = logging.getLogger("postier.web")

TIMEOUT: Final = 60.0
"""Seconds each step of the submission may take (chaos may hold a reply back)."""
_STORED: Final = catalogue.stored("").lines[0]
"""What the server's 250 says before the queue id."""


async def send_message(request: web.Request) -> web.Response:
    state = context(request)
    where = state.submit() if state.submit is not None else None
    if where is None:
        raise ApiError(400, "sending is not offered here: no SMTP listener (use postier serve)")
    wanted = send_request(await request.read())
    try:
        message = compose(wanted.draft)
    except ValueError as error:
        raise ApiError(400, f"the message cannot be written: {error}") from None
    host, port = where
    client = Client(host, port, timeout=TIMEOUT)
    try:
        async with client:
            result = await client.send_message(message, wanted.sender, wanted.recipients)
    except AddressError as error:
        raise ApiError(400, f"bad address: {error}") from None
    except ClientError as error:
        log.info("send from <%s> refused: %s", wanted.sender, error)
        return _refused(str(error), error.reply, _each(error))
    stored = _delivery(result)
    if stored is None:  # not this server's 250: another program took the port
        log.warning("send from <%s>: the SMTP reply names no delivery: %s", wanted.sender, result)
        raise ApiError(503, f"the SMTP server's reply names no stored message: {result.reply}")
    await _visible(state, stored)
    if result.refused:
        return _refused("the message went to the others only", None, result.refused, stored)
    return web.json_response({"ID": stored})


def _delivery(result: SendResult) -> str | None:
    """The delivery ID of the first transaction's message (see the module's doc)."""
    first = (result.replies or (result.reply,))[0]
    text = first.lines[0] if first.lines else ""
    queue_id = text.removeprefix(_STORED)
    if queue_id == text or not queue_id.isalnum():
        return None
    return delivery_id(queue_id.encode("ascii"))


async def _visible(state: WebContext, ref: str) -> None:
    """Bring the index up to date with the files, so that the ID answered can be opened
    at once (the reader looks at the files only every so often)."""
    reader = state.mail.reader

    def look() -> None:
        reader.sync()
        reader.locate(ref)

    try:
        await state.mail.run(look)
    except NoSuchMessage:
        log.warning("sent message %s is not in the store's index yet", ref)


def _each(error: ClientError) -> Mapping[str, Reply]:
    return error.refused if isinstance(error, RecipientsRefusedError) else {}


def _refused(
    text: str, reply: Reply | None, refused: Mapping[str, Reply], stored: str = ""
) -> web.Response:
    """The error for a refusal: 400 when every reply in it is permanent, else 503."""
    replies = [r for r in (reply, *refused.values()) if r is not None]
    permanent = bool(replies) and all(r.is_permanent for r in replies)
    body: dict[str, object] = {
        "Error": text,
        "Reply": "" if reply is None else str(reply),
        "Refused": {recipient: str(answer) for recipient, answer in refused.items()},
    }
    if stored:
        body["ID"] = stored
    return web.json_response(body, status=400 if permanent else 503)
