"""What counts as a message's body and what as an attachment: one rule, shared by the fast
table (which counts attachments from part headers) and the full view (the email package).

A message is a tree of parts; a multipart part is a branch and everything else a leaf
(a `message/rfc822` part too: a forwarded message is one attachment). A leaf is a body
when it is text/plain or text/html, not marked as an attachment and without a file
name; every other leaf is an attachment.
"""

from __future__ import annotations

from typing import Final

BODY_TYPES: Final = frozenset({"text/plain", "text/html"})
MAX_DEPTH: Final = 32
"""Multiparts nested deeper than this are taken as one leaf (a message crafted to recurse)."""


def is_body(content_type: str, disposition: str | None, filename: str | None) -> bool:
    """Whether a leaf part is a body (shown as text) rather than an attachment."""
    return content_type in BODY_TYPES and disposition != "attachment" and filename is None
