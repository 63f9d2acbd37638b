"""The session's verdict on a sender or a recipient the core offered it: accept, or a reply.

The core has already checked what is its own to check (syntax, sequence, SMTPUTF8, the
count of recipients); a verdict carries only the session's policy: accept, or refuse
with a 4xx (try again later: greylisting, chaos) or a 5xx (never: no such mailbox).
"""

from __future__ import annotations

from enum import Enum

from postier.protocol.smtp.errors import LocalProtocolError
from postier.protocol.smtp.reply import Reply


class Accept(Enum):
    """The verdict that takes the sender or recipient: the core answers its own 250."""

    ACCEPT = "accept"


ACCEPT = Accept.ACCEPT

Verdict = Reply | Accept
"""`ACCEPT`, or the refusal the client hears."""


def refusal_of(verdict: Reply) -> Reply:
    """`verdict` when it can refuse a command (4xx or 5xx); our own misuse otherwise."""
    if not isinstance(verdict, Reply) or not 400 <= verdict.code <= 599:
        raise LocalProtocolError(f"a verdict is ACCEPT or a 4xx/5xx reply, not {verdict!r}")
    return verdict
