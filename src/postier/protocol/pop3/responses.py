"""POP3 responses: a status indicator, an optional response code, a text (RFC 1939 §3).

Response codes are RFC 2449 §8's extended form, `[CODE]` right after the indicator; the
codes are those of RFC 2449 §8.1 and RFC 3206. A multi-line response is its first line,
then lines byte-stuffed and a line holding a single "." (RFC 1939 §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_RESPONSE_LINE = 512
"""RFC 2449 §4: a response line is at most 512 octets, CRLF included."""


class RespCode(Enum):
    """The response codes postier sends, each with the RFC that defines it."""

    IN_USE = "IN-USE"
    """RFC 2449 §8.1.1: the maildrop is held by another session."""
    LOGIN_DELAY = "LOGIN-DELAY"
    """RFC 2449 §8.1.2 (never sent: postier sets no minimum time between logins)."""
    SYS_TEMP = "SYS/TEMP"
    """RFC 3206 §4: a temporary system problem; trying again later may work."""
    SYS_PERM = "SYS/PERM"
    """RFC 3206 §4: a permanent system problem; trying again will not help."""
    AUTH = "AUTH"
    """RFC 3206 §5: the credentials are the problem (wrong, or not allowed here)."""


@dataclass(frozen=True, slots=True)
class Response:
    """One response: `+OK` or `-ERR`, an optional code, and the rest of its first line."""

    ok: bool
    text: str
    code: RespCode | None = None
    lines: tuple[str, ...] | None = None
    """The lines of a multi-line response (stuffed when written); None: single-line."""

    def first_line(self) -> str:
        indicator = "+OK" if self.ok else "-ERR"
        code = f" [{self.code.value}]" if self.code is not None else ""
        return f"{indicator}{code} {self.text}" if self.text else f"{indicator}{code}"

    def to_bytes(self) -> bytes:
        head = self.first_line().encode("utf-8") + b"\r\n"
        if self.lines is None:
            return head
        body = b"".join(
            (b"." if line.startswith(".") else b"") + line.encode("utf-8") + b"\r\n"
            for line in self.lines
        )
        return head + body + b".\r\n"

    def __str__(self) -> str:
        return self.first_line()


def continuation(text: str) -> bytes:
    """RFC 5034 §4: a SASL challenge, `+ ` and the base64 text."""
    return b"+ " + text.encode("ascii") + b"\r\n"
