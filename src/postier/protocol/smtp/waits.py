"""What a connection's `next_event()` returns when it has no event: shared by both roles."""

from __future__ import annotations

from enum import Enum


class Wait(Enum):
    """What `next_event()` returns when it has no event."""

    NEED_DATA = "need data"
    """Everything received so far is processed; feed more bytes."""
    PAUSED = "paused"
    """Waiting for the session: a message to answer, or a TLS handshake."""
    SEND_FIRST = "send first"
    """Replies are piling up (a client pipelining without reading them): send them,
    and wait until the client reads, before more input is processed."""


NEED_DATA = Wait.NEED_DATA
PAUSED = Wait.PAUSED
SEND_FIRST = Wait.SEND_FIRST


class Pause(Enum):
    """What a connection that says `PAUSED` waits for the session to do."""

    MESSAGE = "storing a message"
    """`MessageComplete` was told: call `answer_message()`."""
    TLS = "the TLS handshake"
    """`StartTlsRequested` was told: call `tls_started()`."""
    CREDENTIALS = "checking credentials"
    """`CredentialsReceived` was told: call `answer_auth()`."""
    SENDER = "deciding about a sender"
    """`SenderOffered` was told: call `answer_sender()`."""
    RECIPIENT = "deciding about a recipient"
    """`RecipientOffered` was told: call `answer_recipient()`."""
