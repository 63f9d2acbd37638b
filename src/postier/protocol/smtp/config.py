"""The protocol core's settings: what the server offers and the limits it enforces."""

from __future__ import annotations

from dataclasses import dataclass

# RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
COMMAND_LINE_LIMIT = 512
# RFC 1869 §4.1.2 / RFC 5321 §4.5.3.1.4: MAIL and RCPT carrying ESMTP parameters may be
# longer; each extension raises the limit. This bounds what we ever buffer for a line.
EXTENDED_COMMAND_LINE_LIMIT = 2048
# RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
DATA_LINE_LIMIT = 1000
# Replies queued before command processing stops until they are sent: a bound on what
# one connection holds whatever it pipelines.
OUTPUT_LIMIT = 16 * 1024


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What one `ServerConnection` offers and enforces; filled from the CLI's settings."""

    hostname: str = "localhost"
    max_message_size: int = 32 * 1024 * 1024
    max_recipients: int = 100
    max_errors: int = 20
    tls_available: bool = False
    """A certificate is configured, so STARTTLS may be offered (RFC 3207)."""
    auth_mechanisms: tuple[str, ...] = ()
    """SASL mechanisms AUTH offers (RFC 4954); none: no AUTH."""
    auth_insecure: bool = False
    """Offer AUTH without TLS too (passwords then cross the network in clear)."""
    auth_required: bool = False
    """MAIL without a successful AUTH gets 530."""
    max_auth_failures: int = 5
    """Failed AUTH attempts before the connection is closed with 421."""
    command_line_limit: int = COMMAND_LINE_LIMIT
    extended_command_line_limit: int = EXTENDED_COMMAND_LINE_LIMIT
    data_line_limit: int = DATA_LINE_LIMIT
    output_limit: int = OUTPUT_LIMIT
    software: str = "postier"
