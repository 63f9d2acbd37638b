"""The SPAMC/SPAMD protocol of SpamAssassin's daemon, pure: the request as bytes, the
reply parsed from bytes. No I/O here (`spamd.py` carries it).

The client sends `REPORT SPAMC/1.5`, a `Content-length` header, a blank line and the
message, then half-closes; spamd answers `SPAMD/1.1 0 EX_OK`, its headers (`Spam: True ;
7.3 / 5.0`, `Content-length`), a blank line and, for REPORT, its report, whose table of
the rules that fired (`pts rule name description`) is read here. spamd's own
spamd/PROTOCOL file describes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

VERSION: Final = "SPAMC/1.5"
MAX_REPLY: Final = 1 << 20
"""Bytes of a reply read at most; a longer one is refused."""

_STATUS: Final = re.compile(rb"SPAMD/(\d+\.\d+) +(\d+) +(.*)")
_SPAM: Final = re.compile(r"\s*(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)\s*", re.I)
_RULE: Final = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*?)\s*")
_TABLE_RULE: Final = re.compile(r"-{3,}\s+-{3,}\s+-{3,}")


class SpamdError(Exception):
    """spamd answered something that is not a result (or an error code)."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    score: float
    description: str


@dataclass(frozen=True, slots=True)
class SpamResult:
    is_spam: bool
    score: float
    threshold: float
    rules: tuple[Rule, ...]


def request(message: bytes, command: str = "REPORT", user: str | None = None) -> bytes:
    """The request that asks spamd `command` about `message`."""
    head = [f"{command} {VERSION}", f"Content-length: {len(message)}"]
    if user is not None:
        head.append(f"User: {user}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + message


def parse_reply(data: bytes) -> SpamResult:
    """spamd's whole reply to a REPORT (or SYMBOLS, CHECK); raises SpamdError."""
    if len(data) > MAX_REPLY:
        raise SpamdError(f"the reply is over {MAX_REPLY} bytes")
    head, blank, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = _STATUS.fullmatch(lines[0].strip())
    if status is None:
        raise SpamdError(f"not a spamd reply: {lines[0][:80]!r}")
    if status[2] != b"0":
        said = status[3].decode(errors="replace")
        raise SpamdError(f"spamd refused: {status[2].decode()} {said}")
    fields = _fields(lines[1:])
    if "spam" not in fields:
        raise SpamdError("the reply has no Spam header")
    verdict = _SPAM.fullmatch(fields["spam"])
    if verdict is None:
        raise SpamdError(f"unreadable Spam header: {fields['spam'][:80]!r}")
    length = fields.get("content-length")
    if length is not None and (not length.isdigit() or int(length) != len(body) or not blank):
        raise SpamdError("the reply's body is not its Content-length")
    text = body.decode("utf-8", errors="replace")
    return SpamResult(
        is_spam=verdict[1].lower() in ("true", "yes"),
        score=float(verdict[2]),
        threshold=float(verdict[3]),
        rules=report_rules(text) if _TABLE_RULE.search(text) else symbols(text),
    )


def _fields(lines: list[bytes]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise SpamdError(f"not a header line: {line[:80]!r}")
        fields[name.strip().lower()] = value.strip()
    return fields


def report_rules(report: str) -> tuple[Rule, ...]:
    """The rules of a REPORT's table; a description's wrapped lines joined to it."""
    rules: list[Rule] = []
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if _TABLE_RULE.match(line)), None)
    if start is None:
        return ()
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        match = _RULE.fullmatch(line)
        if match is not None:
            rules.append(Rule(match[2], float(match[1]), match[3]))
        elif rules and line.startswith(" "):
            last = rules[-1]
            rules[-1] = Rule(last.name, last.score, f"{last.description} {line.strip()}")
    return tuple(rules)


def symbols(body: str) -> tuple[Rule, ...]:
    """The rule names of a SYMBOLS reply (`A,B,C`), without scores."""
    names = [name.strip() for name in body.strip().split(",")]
    return tuple(Rule(name, 0.0, "") for name in names if name)
