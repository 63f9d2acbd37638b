"""Reading a received message back with the standard `email` package, an independent reader."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage


def parsed(data: bytes) -> EmailMessage:
    """The message as a reader gets it: lines in the local convention, then parsed."""
    message = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message
