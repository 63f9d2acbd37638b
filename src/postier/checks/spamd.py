"""The spam check: a message sent to a SpamAssassin daemon (`--spamd HOST:PORT`) over
asyncio, its reply in Mailpit's `SpamAssassinResponse` shape. A daemon that cannot be
reached, is too slow or answers nonsense gives a result whose `Error` says so."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from .config import SpamdAddress
from .spamc import MAX_REPLY, SpamdError, SpamResult, parse_reply, request


async def ask_spamd(address: SpamdAddress, message: bytes) -> SpamResult:
    """spamd's verdict on `message`; raises SpamdError, OSError or TimeoutError."""
    async with asyncio.timeout(address.timeout):
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            writer.write(request(message))
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            reply = await reader.read(MAX_REPLY + 1)
            while len(reply) <= MAX_REPLY and (more := await reader.read(MAX_REPLY)):
                reply += more
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return parse_reply(reply)


async def spam_check(address: SpamdAddress, message: bytes) -> dict[str, Any]:
    """Mailpit's `{"IsSpam", "Error", "Score", "Rules": [{"Score", "Name",
    "Description"}]}`; a failure is an `Error`, not an exception."""
    try:
        result = await ask_spamd(address, message)
    except TimeoutError:
        return _failed(f"spamd at {address.host}:{address.port} took over {address.timeout:g} s")
    except OSError as error:
        return _failed(f"spamd at {address.host}:{address.port}: {error.strerror or error}")
    except SpamdError as error:
        return _failed(str(error))
    return {
        "IsSpam": result.is_spam,
        "Error": "",
        "Score": _tenth(result.score),
        "Rules": [
            {"Score": _tenth(rule.score), "Name": rule.name, "Description": rule.description}
            for rule in result.rules
        ],
    }


def _failed(error: str) -> dict[str, Any]:
    return {"IsSpam": False, "Error": error, "Score": 0.0, "Rules": []}


def _tenth(value: float) -> float:
    """Rounded down to a tenth, as Mailpit shows scores."""
    return math.floor(value * 10 + 1e-9) / 10
