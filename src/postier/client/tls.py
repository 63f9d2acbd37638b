"""The client's TLS settings: how a connection is secured, and the context that checks it."""

from __future__ import annotations

import ssl
from enum import StrEnum
from pathlib import Path


class Security(StrEnum):
    """How the connection is protected."""

    NONE = "none"
    """Clear text throughout."""
    STARTTLS = "starttls"
    """Upgrade with STARTTLS (RFC 3207); a server that does not offer it is an error."""
    STARTTLS_IF_OFFERED = "starttls-if-offered"
    """Upgrade when the server offers STARTTLS, else go on in clear (port 587's custom)."""
    TLS = "tls"
    """TLS from the first byte, as on port 465 (RFC 8314 §3.3)."""


def client_context(cafile: Path | None = None, *, insecure: bool = False) -> ssl.SSLContext:
    """A context that checks the server's certificate and name (system CAs, or `cafile`).

    `insecure` turns the checks off, explicitly: the connection is still encrypted
    but anyone in the middle could read it.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe(error: ssl.SSLError, host: str) -> str:
    """A TLS failure in one line, saying how to get past it when that is the user's choice."""
    if isinstance(error, ssl.SSLCertVerificationError):
        why = error.verify_message or error.reason or "not trusted"
        return (
            f"TLS certificate of {host} does not verify: {why} "
            "(give its authority with --cafile, or --insecure to skip the check)"
        )
    return f"TLS handshake with {host} failed: {error.reason or error}"
