"""Bytes to and from the server over asyncio, every wait bounded by a deadline.

An `asyncio.Protocol` rather than streams: upgrading to TLS must be able to prove that
nothing arrived in clear after the reply to STARTTLS (RFC 3207 §4.2), and only our own
buffer can say so.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from typing import cast

from postier.client.errors import (
    ClientTimeoutError,
    ConnectError,
    ConnectionLostError,
    ProtocolViolationError,
)

# Reading stops while this much is unread; replies are small, a server that floods
# us waits for the protocol core to catch up.
_READ_HIGH_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    """Collects what the server sends and tells writers when they may go on."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.error: Exception | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._readable.set()
        if len(self.buffer) > _READ_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.closed = True
        self._readable.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._readable.set()
        self._writable.set()
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def wait_readable(self) -> None:
        await self._readable.wait()

    async def wait_writable(self) -> None:
        await self._writable.wait()

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        self._readable.clear()
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()
        return data


class Connection:
    """One TCP connection to an SMTP server, possibly under TLS."""

    def __init__(self, protocol: _Protocol, host: str, timeout: float) -> None:
        self._protocol = protocol
        self.host = host
        self.timeout = timeout

    @classmethod
    async def open(
        cls, host: str, port: int, timeout: float, tls: ssl.SSLContext | None = None
    ) -> Connection:
        """Connect, and with `tls` run the handshake at once (implicit TLS, RFC 8314 §3.3).

        Raises `ConnectError`, or `ssl.SSLError` for the caller to report as a TLS failure.
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                    ssl_handshake_timeout=timeout if tls else None,
                )
        except ssl.SSLError:
            raise
        except TimeoutError:
            why = f"no answer in {timeout:g} s"
            raise ConnectError(f"cannot connect to {host}:{port}: {why}") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {_reason(exc)}") from None
        return cls(protocol, host, timeout)

    @property
    def _transport(self) -> asyncio.Transport:
        transport = self._protocol.transport
        assert transport is not None
        return transport

    async def read(self, waiting_for: str) -> bytes:
        """What the server sent next; `b""` once it has closed."""
        protocol = self._protocol
        try:
            async with asyncio.timeout(self.timeout):
                while not protocol.buffer and not protocol.closed:
                    await protocol.wait_readable()
        except TimeoutError:
            raise ClientTimeoutError(
                f"the server did not answer {waiting_for} within {self.timeout:g} s"
            ) from None
        return protocol.take()

    async def write(self, data: bytes, doing: str) -> None:
        """Hand `data` to the transport, waiting while the server is slow to take it."""
        if self._protocol.closed:
            raise ConnectionLostError(f"the server closed the connection while {doing}")
        self._transport.write(data)
        try:
            async with asyncio.timeout(self.timeout):
                await self._protocol.wait_writable()
        except TimeoutError:
            raise ClientTimeoutError(
                f"the server stopped taking data while {doing} ({self.timeout:g} s)"
            ) from None
        if self._protocol.closed and self._protocol.error is not None:
            why = _reason(self._protocol.error)
            raise ConnectionLostError(f"connection lost while {doing}: {why}")

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade to TLS after the server's 220 to STARTTLS (RFC 3207 §4).

        Raises `ssl.SSLError` (or `ConnectionLostError`) for the caller to report.
        """
        if self._protocol.buffer:
            # RFC 3207 §4.2: bytes sent in clear after the 220 must never be read as
            # if they came over TLS (the STARTTLS response injection attack).
            raise ProtocolViolationError("the server sent data in clear after its 220 to STARTTLS")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    context,
                    server_hostname=self.host,
                    ssl_handshake_timeout=self.timeout,
                )
        except TimeoutError:
            raise ssl.SSLError(f"no TLS handshake within {self.timeout:g} s") from None
        except ConnectionError as exc:
            why = _reason(exc)
            raise ConnectionLostError(f"connection lost during the TLS handshake: {why}") from None
        if transport is None:
            raise ConnectionLostError("the connection closed during the TLS handshake")
        self._protocol.transport = transport

    @property
    def encrypted(self) -> bool:
        return self._transport.get_extra_info("ssl_object") is not None

    def tls_description(self) -> str:
        """The TLS version and cipher, for the transcript (empty when in clear)."""
        info = self._transport.get_extra_info("ssl_object")
        if info is None:
            return ""
        cipher = info.cipher()
        return f"{info.version()} {cipher[0]}" if cipher else str(info.version())

    @property
    def peer(self) -> tuple[str, int]:
        peername = self._transport.get_extra_info("peername")
        return (str(peername[0]), int(peername[1])) if peername else (self.host, 0)

    @property
    def local_address(self) -> str:
        sockname = self._transport.get_extra_info("sockname")
        return str(sockname[0]) if sockname else "127.0.0.1"

    @property
    def peer_is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.peer[0]).is_loopback
        except ValueError:
            return False

    async def close(self) -> None:
        """Close (with TLS's close_notify when it can), never waiting past the deadline."""
        transport = self._protocol.transport
        if transport is None:
            return
        transport.close()
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.shield(self._protocol.lost)
        except TimeoutError:
            transport.abort()

    def abort(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            transport.abort()


def _reason(exc: BaseException) -> str:
    """An OS error as a person reads it ("Connection refused"), not as Python prints it."""
    if isinstance(exc, OSError):
        # asyncio rewrites connect errors ("Connect call failed ..."); the errno tells.
        if exc.errno and not isinstance(exc, socket.gaierror):
            return os.strerror(exc.errno)
        if exc.strerror:
            return exc.strerror
    return str(exc) or type(exc).__name__
