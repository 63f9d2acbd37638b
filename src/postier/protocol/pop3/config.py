"""What one POP3 connection offers and enforces; filled from the server's settings."""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.sasl import LOGIN, PLAIN

COMMAND_LINE_LIMIT = 255
"""RFC 2449 §4: a command line is at most 255 octets, CRLF included."""
SASL_LINE_LIMIT = 4096
"""A SASL response may be longer than a command (RFC 5034 §4 lifts the limit for it)."""


@dataclass(frozen=True, slots=True)
class Pop3Config:
    hostname: str = "localhost"
    """The name the server gives itself in its greeting and APOP timestamp."""
    software: str = "postier"
    tls_available: bool = False
    """A certificate is configured: STLS is offered until TLS is active."""
    auth_insecure: bool = False
    """Passwords are taken without TLS too (USER/PASS, AUTH PLAIN/LOGIN in clear)."""
    mechanisms: tuple[str, ...] = (PLAIN, LOGIN)
    """The SASL mechanisms AUTH offers (CRAM-MD5 only where every login is accepted)."""
    apop: bool = False
    """Offer APOP (RFC 1939 §7): it needs the clear password, so only when any is accepted."""
    max_auth_failures: int = 5
    """Failed logins before the connection is closed."""
    max_errors: int = 20
    """Protocol errors (unknown commands, bad syntax, wrong state) before it is closed."""
    command_line_limit: int = COMMAND_LINE_LIMIT
    sasl_line_limit: int = SASL_LINE_LIMIT
