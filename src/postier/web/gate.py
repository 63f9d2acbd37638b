"""Who may use the HTTP server (`--http-auth`): the `Gate` that checks a password, and
the credentials of HTTP basic authentication (RFC 7617) read from a request.

`/livez` and `/readyz` stay open, as Mailpit leaves them: they tell only that the
process answers and that the store can be read, and a container's health check has no
password to give.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final, Protocol

REALM: Final = 'Basic realm="postier"'
OPEN: Final = frozenset({"/livez", "/readyz"})


class Gate(Protocol):
    """Who may use the server: checks one user's password (slowly, off the event loop)
    and answers a wrong one late."""

    async def admit(self, username: str, password: str, peer: str) -> bool: ...


def credentials(header: str | None) -> tuple[str, str] | None:
    """The user and password of an `Authorization: Basic ...` header, or None when it
    has none or is not of that form. UTF-8, as RFC 7617's charset parameter announces."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None
