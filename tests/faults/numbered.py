"""Numbered messages that prove themselves whole: a token, a body, and its digest at the end.

A stored copy cut anywhere (a half-written append, an interleaved write) loses its last
line or its digest no longer matches, so `check_stored` tells a complete message from a
damaged one without trusting the code under test.
"""

from __future__ import annotations

import hashlib

from tests.support.mailboxes import split_trace


def token_of(client: int, number: int) -> str:
    return f"c{client:03d}-m{number:05d}"


def numbered_message(token: str, size: int = 1024) -> bytes:
    """A message of about `size` body octets, CRLF-ended, that names and checks itself."""
    line = (token + " ") * (72 // (len(token) + 1))
    lines = [f"{n:05d} {line}".rstrip() for n in range(max(1, size // (len(line) + 8)))]
    body = "\r\n".join(lines) + "\r\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    head = f"Subject: {token}\r\nX-Token: {token}\r\n\r\n"
    return f"{head}BEGIN {token}\r\n{body}END {token} {digest}\r\n".encode()


def check_stored(stored: bytes, recipient: str) -> str:
    """The token of a stored copy; AssertionError unless the copy is whole and intact."""
    trace, message = split_trace(stored)
    assert trace["Delivered-To"] == recipient, trace
    head, _, rest = message.partition(b"\n\n")
    subject = head.split(b"\n", 1)[0]
    assert subject.startswith(b"Subject: "), head[:200]
    token = subject.removeprefix(b"Subject: ").decode()
    begin = f"BEGIN {token}\n".encode()
    assert rest.startswith(begin), f"{token}: no BEGIN line"
    body, _, end = rest[len(begin) :].rpartition(b"END ")
    digest = hashlib.sha256(body.replace(b"\n", b"\r\n")).hexdigest()
    assert end == f"{token} {digest}\n".encode(), f"{token}: cut or damaged: ...{rest[-120:]!r}"
    return token
