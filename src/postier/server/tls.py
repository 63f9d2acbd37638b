"""The server's TLS context (STARTTLS and implicit TLS alike) and its live reload.

Every listener of a process that speaks TLS holds the same context, so one reload
serves them all.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from postier.server.errors import ServerError

log = logging.getLogger("postier.server")


def server_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """A server-side TLS context from the certificate, TLS 1.2 at least; None without one.

    Raises ServerError when the files cannot be loaded.
    """
    if cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(f"cannot load the TLS certificate {cert}: {exc}") from None
    return context


def reload_certificate(live: ssl.SSLContext, cert: Path, key: Path | None) -> None:
    """SIGHUP: load the certificate again into `live`; a file that cannot be loaded
    leaves the one in use.

    Connections under way keep what they started with (OpenSSL copies it into each
    connection); each new handshake uses the new one.
    """
    try:
        # Loaded into a fresh context first: a bad file must not leave the one in use
        # half changed. Then into the live one, which the listeners hold.
        server_context(cert, key)
        live.load_cert_chain(cert, key)
    except (ServerError, OSError, ssl.SSLError) as exc:
        log.error("SIGHUP: %s; keeping the certificate in use", exc)
    else:
        log.info("SIGHUP: certificate %s loaded", cert)
