"""Why an SMTP session ended: what its closing log line says, and what the narration of
`--explain` tells (the server's session and the teaching view share these words)."""

from __future__ import annotations

from enum import Enum


class EndReason(Enum):
    """Why a connection ended, as its closing log line says."""

    CLIENT_CLOSED = "client closed the connection"
    QUIT = "QUIT"
    SHUTDOWN = "server shutting down"
    """421 to every client; a message under way may finish first."""
    TIMEOUT = "timeout"
    INTERNAL_ERROR = "internal error"
    """A bug: the log has the traceback, the client heard only a 421."""
    REFUSED = "refused"
    """Turned away at connect; the detail says which limit."""
    CONNECTION_LOST = "connection lost"
    """The detail is the exception's class name, never its text."""
    TLS_FAILED = "TLS handshake failed"
    CLOSED = "closed by the core"
    """The core's last reply (too many errors, a BDAT without a size...) is the detail."""
    CHAOS = "chaos: dropped in the middle of DATA"
    """`--chaos disconnect=PCT`: cut on purpose, nothing stored."""
