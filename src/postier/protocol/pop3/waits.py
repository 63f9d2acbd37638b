"""What `Pop3Connection.next_event()` gives when it has no event: why, and what to do."""

from __future__ import annotations

from enum import Enum


class Wait(Enum):
    NEED_DATA = "need data"
    """Nothing to do until more bytes arrive."""
    PAUSED = "paused"
    """The session has the next move (a login, TLS, a message, the update)."""
    SEND_FIRST = "send first"
    """Much is queued: send it before more commands are read (flow control)."""


NEED_DATA = Wait.NEED_DATA
PAUSED = Wait.PAUSED
SEND_FIRST = Wait.SEND_FIRST
SEND_FIRST_AT = 1 << 16
"""Octets queued past which the session is asked to send before more is read."""
