"""A raw SMTP client over a socket: send exact bytes, read whole replies, with deadlines.

smtplib fixes line endings, stuffs dots and waits for each reply: the tests that send
bare LFs, pipelined bursts, smuggled data or plaintext behind STARTTLS need the wire.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
from dataclasses import dataclass
from types import TracebackType

_REPLY_LINE = re.compile(rb"(\d{3})([ -])(.*)")
_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


class ProtocolViolationError(AssertionError):
    """The server sent something that is not an SMTP reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 code at the start of the first line, if any."""
        first = self.lines[0].split(" ", 1)[0] if self.lines and self.lines[0] else ""
        return first if _ENHANCED.fullmatch(first) else None

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class RawClient:
    """One connection; every read has a deadline, so no test can hang on it."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            address, timeout=timeout
        )
        self._buffer = b""

    # --- writing -------------------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def command(self, line: bytes | str, ending: bytes = b"\r\n") -> Reply:
        """Send one command line and read its reply."""
        self.send((line.encode() if isinstance(line, str) else line) + ending)
        return self.reply()

    def drip(self, data: bytes, interval: float) -> bool:
        """Send `data` one byte at a time; False as soon as the server has closed."""
        for byte in data:
            try:
                self.sock.sendall(bytes([byte]))
            except OSError:
                return False
            if self.pending(interval):
                return False
        return True

    # --- reading -------------------------------------------------------------------

    def reply(self, timeout: float | None = None) -> Reply:
        """The next whole reply (all the lines of a multi-line one)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        lines: list[str] = []
        code = 0
        while True:
            line = self._line(deadline)
            match = _REPLY_LINE.fullmatch(line)
            if match is None:
                raise ProtocolViolationError(f"not a reply line: {line!r}")
            if lines and int(match[1]) != code:
                raise ProtocolViolationError(f"code changed inside a reply: {line!r}")
            code = int(match[1])
            lines.append(match[3].decode("utf-8", "replace"))
            if match[2] == b" ":
                return Reply(code, tuple(lines))

    def replies(self, count: int, timeout: float | None = None) -> list[Reply]:
        return [self.reply(timeout) for _ in range(count)]

    def pending(self, wait: float) -> bool:
        """Whether the server sent something (or closed) within `wait` seconds."""
        if self._buffer:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        readable, _, _ = select.select([self.sock], [], [], wait)
        return bool(readable)

    def read_until_closed(self, timeout: float | None = None) -> bytes:
        """Everything the server still sends, up to its close; fails if it does not close."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        data, self._buffer = self._buffer, b""
        while True:
            chunk = self._recv(deadline)
            if not chunk:
                return data
            data += chunk

    def closed_by_server(self, timeout: float | None = None) -> bool:
        """True when the server closes the connection within `timeout`, sending nothing more."""
        try:
            return self.read_until_closed(timeout) == b""
        except (TimeoutError, ConnectionResetError):
            return False

    @property
    def buffered(self) -> bytes:
        return self._buffer

    def _line(self, deadline: float) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self._recv(deadline)
            if not chunk:
                raise ConnectionError(f"server closed the connection; unread: {self._buffer!r}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _recv(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from the server in time")
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no reply from the server in time") from None
        finally:
            self.sock.settimeout(self.timeout)

    # --- TLS and life cycle ----------------------------------------------------------

    def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        """Wrap the connection after a 220 to STARTTLS; nothing may be buffered in clear."""
        if self._buffer:
            raise ProtocolViolationError(f"plaintext after the 220 to STARTTLS: {self._buffer!r}")
        assert not isinstance(self.sock, ssl.SSLSocket)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(address: tuple[str, int], ehlo: str | None = "client.test") -> RawClient:
    """A connection past the 220 greeting (and EHLO, unless `ehlo` is None)."""
    client = RawClient(address)
    try:
        greeting = client.reply()
        assert greeting.code == 220, greeting
        if ehlo is not None:
            answer = client.command(f"EHLO {ehlo}")
            assert answer.code == 250, answer
    except BaseException:
        client.close()
        raise
    return client
