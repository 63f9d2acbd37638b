"""Builds the trace header block that heads one stored copy of a message.

    Return-Path: <sender>
    Delivered-To: recipient
    Received: from helo (unknown [ip])
        (using TLS info)
        (Authenticated sender: user)
        by server (postier) with ESMTP id QUEUEID
        for <recipient>; Thu, 27 Nov 2026 02:23:09 +0000

The order is the one of a local delivery agent (Postfix's `local`): the final delivery
adds `Return-Path` (RFC 5321 §4.4) and `Delivered-To` above the `Received` it stamps.
Every value comes from the client one way or another, so each is cleaned before it is
written: no CR, LF or other control character can start a header of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Final

from .envelope import Envelope

MAX_LINE: Final = 78
"""RFC 5322 §2.1.1: lines SHOULD be no longer than 78 characters."""

_REPLACEMENT: Final = "?"
_TOKEN_FORBIDDEN: Final = frozenset(' ()<>;\\"')
_PATH_FORBIDDEN: Final = frozenset("<>")
_COMMENT_FORBIDDEN: Final = frozenset("\\")


def clean(value: str, forbidden: Iterable[str] = ()) -> str:
    """`value` with every non-printable character (CR, LF, TAB, NUL, DEL, C1, U+2028...)
    and every character of `forbidden` replaced, so that it stays inside its header."""
    banned = frozenset(forbidden)
    if value.isprintable() and banned.isdisjoint(value):
        return value  # the usual case, without a loop in Python
    return "".join(
        char if char.isprintable() and char not in banned else _REPLACEMENT for char in value
    )


def _token(value: str) -> str:
    """A host name, protocol or id: one word, or `unknown` when empty."""
    return clean(value, _TOKEN_FORBIDDEN) or "unknown"


def _comment(value: str) -> str:
    """Comment text (RFC 5322 §3.2.2): parentheses kept only when they nest properly."""
    text = clean(value, _COMMENT_FORBIDDEN)
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("(", _REPLACEMENT).replace(")", _REPLACEMENT)
    return f"({text})"


def _address_literal(peer_ip: str) -> str:
    """RFC 5321 §4.1.3: `[192.0.2.1]`, and `[IPv6:2001:db8::1]` for IPv6."""
    ip = _token(peer_ip)
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def _fold(line: str) -> list[str]:
    """Split an over-long line at spaces (RFC 5322 §2.2.3) where it can; a single word
    longer than the limit stays whole."""
    if len(line) <= MAX_LINE and not line.startswith(" "):
        return [line]  # the usual case: nothing to split, and no loop in Python
    lines: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and word and len(current) + 1 + len(word) > MAX_LINE:
            lines.append(current)
            current = "\t" + word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def _header(name: str, clauses: list[str]) -> str:
    """One header, its first clause on the name's line and each other on a line of its own.

    With no `name`, the clauses continue the header before them.
    """
    lines: list[str] = []
    for index, clause in enumerate(clauses):
        lines.extend(_fold(f"{name}: {clause}" if index == 0 and name else f"\t{clause}"))
    return "\n".join(lines) + "\n"


def received(envelope: Envelope, recipient: str) -> str:
    """The `Received:` header (RFC 5321 §4.4) for the copy delivered to `recipient`.

    No reverse DNS lookup is made, so the TCP-info names the host `unknown` as Postfix
    does; the HELO name is what the client claimed.
    """
    by = _by_clause(envelope.server_name, envelope.protocol) + _token(envelope.queue_id)
    return (
        _received_from(envelope.helo, envelope.peer_ip, envelope.tls_info, envelope.auth_user)
        + _header("", [by])
        + _header("", [f"{_for_clause(recipient)}{_date(envelope.received_at)}"])
    )


# Each clause is folded on its own, so the block can be built from parts; the parts that
# stay the same from one message to the next (one client's, one recipient's) are kept,
# which makes the trace headers several times cheaper for a server's steady stream.
_PART_CACHE: Final = 1024


@functools.lru_cache(maxsize=_PART_CACHE)
def _received_from(helo: str, peer_ip: str, tls_info: str | None, auth_user: str | None) -> str:
    """`Received:` up to its `by` clause."""
    clauses = [f"from {_token(helo)} (unknown {_address_literal(peer_ip)})"]
    if tls_info:
        clauses.append(_comment(f"using {tls_info}"))
    if auth_user is not None:
        clauses.append(_comment(f"Authenticated sender: {auth_user}"))
    return _header("Received", clauses)


@functools.lru_cache(maxsize=_PART_CACHE)
def _by_clause(server_name: str, protocol: str) -> str:
    """The `by` clause without the id that ends it."""
    return f"by {_token(server_name)} (postier) with {_token(protocol)} id "


@functools.lru_cache(maxsize=_PART_CACHE)
def _for_clause(recipient: str) -> str:
    """The `for` clause without the date that ends it."""
    return f"for <{clean(recipient, _PATH_FORBIDDEN)}>; "


@functools.lru_cache(maxsize=_PART_CACHE)
def _paths(sender: str, recipient: str) -> str:
    """`Return-Path:` and `Delivered-To:`."""
    return _header("Return-Path", [f"<{clean(sender, _PATH_FORBIDDEN)}>"]) + _header(
        "Delivered-To", [clean(recipient, _PATH_FORBIDDEN)]
    )


def _date(when: datetime) -> str:
    """RFC 5322 date of `when`, to the second: formatted once per second."""
    # Equal datetimes in different zones are formatted differently: the offset is a key too.
    return _date_of_second(when.replace(microsecond=0), when.utcoffset())


@functools.lru_cache(maxsize=4)
def _date_of_second(when: datetime, offset: timedelta | None) -> str:
    return format_datetime(when)


def trace_headers(envelope: Envelope, recipient: str) -> bytes:
    """The trace block for `recipient`'s copy, UTF-8 (RFC 6532), LF line endings."""
    text = _paths(envelope.sender, recipient) + received(envelope, recipient)
    return text.encode("utf-8")


def relay_trace(envelope: Envelope, recipients: tuple[str, ...]) -> bytes:
    """The `Received:` that heads a copy passed on upstream, CRLF line endings (the
    data's own, as SMTP carries it). Its `for` clause names the recipient when there is
    one only (RFC 5321 §4.4: naming several would tell each of the others); a relay
    adds no `Return-Path:` or `Delivered-To:`, which belong to the final delivery."""
    clauses = [_by_clause(envelope.server_name, envelope.protocol) + _token(envelope.queue_id)]
    if len(recipients) == 1:
        clauses.append(f"{_for_clause(recipients[0])}{_date(envelope.received_at)}")
    else:
        clauses[-1] += f"; {_date(envelope.received_at)}"
    text = _received_from(
        envelope.helo, envelope.peer_ip, envelope.tls_info, envelope.auth_user
    ) + "".join(_header("", [clause]) for clause in clauses)
    return text.replace("\n", "\r\n").encode("utf-8")
