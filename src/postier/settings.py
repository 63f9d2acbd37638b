"""All of the server's settings and limits in one object, filled by the CLI."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from postier.protocol.config import ServerConfig

StoreFormat = Literal["mbox", "maildir"]

DEFAULT_PORT = 2525
DEFAULT_MAX_SIZE = 32 * 1024 * 1024


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
    tls_cert: Path | None = None
    tls_key: Path | None = None
    fsync: bool = True
    shutdown_grace: float = 30.0
    """On SIGTERM/Ctrl-C, how long a message being received may take to finish."""
    spool_memory: int = 1024 * 1024
    """A message stays in memory up to this size, then moves to a temporary file."""
    delivery_threads: int = 16
    """Threads storing messages; concurrent deliveries share fsyncs (group commit)."""

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None

    def protocol_config(self) -> ServerConfig:
        return ServerConfig(
            hostname=self.hostname,
            max_message_size=self.max_size,
            max_recipients=self.max_recipients,
            max_errors=self.max_errors,
            tls_available=self.tls_enabled,
        )
