"""Binding listening sockets for any protocol: the port, SO_REUSEPORT for `--workers`,
TLS from the first byte, and one plain message when the port cannot be had."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from postier.server.errors import ServerError

BACKLOG: Final = 1024
"""Connections the kernel holds while the loop is busy: a burst of clients is not refused."""
MAX_HANDSHAKE: Final = 60.0
"""Seconds a TLS handshake may take at most, even when the session's timeout is longer."""
PRIVILEGED_PORTS: Final = 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how a listener binds; the same for every protocol."""

    host: str
    port: int
    """0 asks the system for a free port (the listener's log line then says which)."""
    shared: bool = False
    """Several processes (`--workers`) listen on the port; the kernel spreads clients."""
    timeout: float = MAX_HANDSHAKE
    """The peer's deadline; a TLS handshake gets this long, up to `MAX_HANDSHAKE`."""


async def listen(
    endpoint: Endpoint,
    factory: Callable[[], asyncio.Protocol],
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """A server accepting on `endpoint`, a protocol from `factory` for each connection.

    With `tls`, TLS from the first byte: asyncio makes the handshake before the protocol
    hears of the connection, so no byte is ever read in clear. Raises ServerError.
    """
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(
            factory,
            endpoint.host,
            endpoint.port,
            reuse_address=True,
            reuse_port=endpoint.shared,
            backlog=BACKLOG,
            ssl=tls,
            ssl_handshake_timeout=min(endpoint.timeout, MAX_HANDSHAKE) if tls else None,
        )
    except OSError as exc:
        raise cannot_listen(endpoint.host, endpoint.port, exc) from None


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` in the SO_REUSEPORT group, not listening: it fixes
    the port (`--port 0` too) and keeps it ours until the workers listen on it."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise cannot_listen(host, port, exc) from None
    return sock


def cannot_listen(host: str, port: int, exc: OSError) -> ServerError:
    """The one-line error for a port that cannot be bound."""
    hint = " (ports below 1024 need root)" if 0 < port < PRIVILEGED_PORTS else ""
    # asyncio's strerror repeats the address ("error while attempting to bind on
    # address (...): address already in use"); the errno's own text says it once.
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ServerError(f"cannot listen on {host}:{port}: {reason}{hint}")


def addresses(server: asyncio.Server) -> list[str]:
    """Where `server` listens, as `host:port` (`[host]:port` for IPv6): the port a
    `0` turned into is there."""
    return [format_address(sock.getsockname()) for sock in server.sockets]


def format_address(sockname: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
