"""All of the server's settings and limits in one object, filled by the CLI."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from postier.defaults import DEFAULT_PORT as DEFAULT_PORT  # noqa: PLC0414 (re-exported)
from postier.protocol.config import ServerConfig

StoreFormat = Literal["mbox", "maildir"]

DEFAULT_MAX_SIZE = 32 * 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_EXEMPT = "127.0.0.0/8, ::1"
"""Loopback: on a developer's machine every client is local, and must not lock itself out."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8, ::1"` → networks; `""` or `"none"` → none. Raises ValueError."""
    if text.strip().lower() in {"", "none"}:
        return ()
    networks: list[Network] = []
    for item in text.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {item.strip()!r}") from None
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class Settings:
    """What `postier serve` runs with. Every limit the server enforces lives here."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    store: Path = Path("mail")
    format: StoreFormat = "mbox"
    hostname: str = field(default_factory=socket.gethostname)
    max_size: int = DEFAULT_MAX_SIZE
    max_recipients: int = 100
    timeout: float = 300.0
    """Deadline, in seconds, for each whole line the client sends."""
    max_connections: int = 1000
    max_errors: int = 20
    max_client_connections: int = 100
    """Connections at once from one client address (0: no limit)."""
    max_client_errors: int = 100
    """Protocol errors from one client address within `client_error_window` (0: no limit)."""
    client_error_window: float = 600.0
    client_limit_exempt: tuple[Network, ...] = parse_networks(DEFAULT_EXEMPT)
    """Addresses the two per-client limits do not apply to (loopback by default)."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int | None = None
    """A second port where TLS starts at connect (RFC 8314 implicit TLS, SMTPS)."""
    auth: str = "none"
    """AUTH: "none" (not offered), "any" (every login accepted) or a password file."""
    auth_insecure: bool = False
    """Offer AUTH without TLS too."""
    auth_required: bool = False
    """MAIL needs a successful AUTH first."""
    auth_failure_delay: float = 1.0
    """A failed AUTH is answered this late, each further failure twice as late (to 16x)."""
    fsync: bool = True
    shutdown_grace: float = 30.0
    """On SIGTERM/Ctrl-C, how long a message being received may take to finish."""
    spool_memory: int = 1024 * 1024
    """A message stays in memory up to this size, then moves to a temporary file."""
    workers: int = 1
    """Server processes sharing the port (SO_REUSEPORT) and the store; each serves up to
    `max_connections / workers` clients."""

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """What AUTH offers: CRAM-MD5 needs the clear password, so only with "any"."""
        if self.auth == "none":
            return ()
        if self.auth == "any":
            return ("PLAIN", "LOGIN", "CRAM-MD5")
        return ("PLAIN", "LOGIN")

    def protocol_config(self) -> ServerConfig:
        return ServerConfig(
            hostname=self.hostname,
            max_message_size=self.max_size,
            max_recipients=self.max_recipients,
            max_errors=self.max_errors,
            tls_available=self.tls_enabled,
            auth_mechanisms=self.auth_mechanisms,
            auth_insecure=self.auth_insecure,
            auth_required=self.auth_required,
        )
