"""`POST /api/v1/message/{ID}/release` (Mailpit's): send a stored message on to the
recipients named, through the upstream of `--relay`; and `GET /api/v1/webui`, which
tells a client (the page, Mailpit's tools) whether release is offered, and where to.

A release is sent at once, over a connection of its own: the answer is the upstream's.
`200 ok` (text, as Mailpit) once the upstream has taken it for every recipient; `400`
for a request that cannot be released (no upstream, a bad or disallowed address), `502`
with the upstream's own words when the upstream refused it or could not be reached.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from postier.client import ClientError
from postier.relay import ReleaseError, release

from .api_message import resolved
from .context import context
from .errors import ApiError

log = logging.getLogger("postier.web")


async def release_message(request: web.Request) -> web.Response:
    state = context(request)
    config = state.relay
    if config is None or config.upstream is None:
        raise ApiError(400, "release is not enabled: start postier serve with --relay HOST[:PORT]")
    ref = await resolved(request)
    recipients = _recipients(await request.read())
    reader = state.mail.reader
    try:
        result = await release(
            config, lambda: reader.open_raw(ref), recipients, hostname=state.hostname
        )
    except ReleaseError as error:
        raise ApiError(400, str(error)) from None
    except ClientError as error:
        log.warning("release of %s to %s failed: %s", ref, ", ".join(recipients), error)
        raise ApiError(502, f"the upstream did not take it: {error}") from None
    log.info(
        "released %s to %s via %s: %s",
        ref, ", ".join(f"<{r}>" for r in result.accepted), config.upstream, result.reply,
    )  # fmt: skip
    if result.refused:
        refused = "; ".join(f"<{r}>: {reply}" for r, reply in result.refused.items())
        raise ApiError(502, f"released to the others, refused: {refused}")
    return web.Response(text="ok", content_type="text/plain")


def _recipients(raw: bytes) -> list[str]:
    """`{"To": ["a@example.com", ...]}`; raises ApiError(400)."""
    try:
        body = json.loads(raw) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(body, dict) or "To" not in body:
        raise ApiError(400, 'send {"To": ["address", ...]}')
    to = body["To"]
    if not isinstance(to, list) or not all(isinstance(item, str) for item in to):
        raise ApiError(400, '"To" must be a list of addresses')
    if not to:
        raise ApiError(400, "No valid addresses found")
    return to


async def webui(request: web.Request) -> web.Response:
    """Mailpit's `WebUIConfiguration`, with what postier has of it."""
    state = context(request)
    config = state.relay
    enabled = config is not None and config.upstream is not None
    relay: dict[str, object] = {
        "Enabled": enabled,
        "SMTPServer": "",
        "ReturnPath": "",
        "AllowedRecipients": "",
        "BlockedRecipients": "",
        "OverrideFrom": "",
        "PreserveMessageIDs": True,
    }
    if enabled and config is not None and config.upstream is not None:
        relay["SMTPServer"] = f"{config.upstream.host}:{config.upstream.port}"
        relay["ReturnPath"] = config.sender or ""
        relay["AllowedRecipients"] = "|".join(p.pattern for p in config.release_allow)
    chaos = state.chaos
    return web.json_response(
        {
            "Label": "",
            "MessageRelay": relay,
            "SpamAssassin": state.checks.spamd is not None,
            "ChaosEnabled": chaos is not None,
            "DuplicatesIgnored": False,
            "HideDeleteAllButton": False,
        }
    )
