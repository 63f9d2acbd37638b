"""The envelope of one accepted message: what the session hands the store with the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Envelope:
    """Everything the store needs besides the message bytes.

    The store turns it into the trace headers (RFC 5321 §4.4) and the mailbox names;
    it never needs to know about sessions or sockets.
    """

    sender: str
    """The reverse-path without angle brackets; "" for the null sender `<>`."""
    recipients: tuple[str, ...]
    """Forward-paths without angle brackets, in the order accepted (duplicates allowed)."""
    helo: str
    """The name the client gave in EHLO/HELO."""
    peer_ip: str
    """The client's IP address, as text ("127.0.0.1", "::1")."""
    server_name: str
    """This server's host name, for the `by` clause of `Received:`."""
    protocol: str
    """The registered `with` keyword (RFC 3848): SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA,
    UTF8SMTP, UTF8SMTPS..."""
    queue_id: str
    """A short unique id for this transaction, shown in `Received:` and in the log."""
    received_at: datetime
    """When the end of data arrived; timezone-aware."""
    auth_user: str | None = None
    """The authenticated user, when the session authenticated."""
    tls_info: str | None = None
    """A short description of the TLS session (version, cipher) for the `Received:` comment."""
