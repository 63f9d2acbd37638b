"""A server's bounded receive buffer: the client's bytes, taken a line or n octets at a time.

SMTP's core and POP3's read their clients through it.

Modelled on h11's `_receivebuffer.py`. Input is kept as the chunks it arrived in, so
that message data is handed on without being copied into one growing buffer; only a
partial command line is joined, and never beyond `limit` octets: a longer line is
dropped as it comes and reported once its end arrives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import Enum
from typing import Literal


class _Overflow(Enum):
    TOO_LONG = "too long"


TOO_LONG: Literal[_Overflow.TOO_LONG] = _Overflow.TOO_LONG
"""What `next_line()` gives for a line longer than the limit, once its end arrives."""

Line = bytes | Literal[_Overflow.TOO_LONG]


class ReceiveBuffer:
    """Bytes received and not yet taken; a partial line never grows past `limit`."""

    __slots__ = ("_chunks", "_discarding", "_line", "bare_lf", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        """The longest line, ending included, that is ever held."""
        self.bare_lf = False
        """The last line taken ended with a bare LF instead of CRLF."""
        self._chunks: deque[bytes] = deque()
        self._line = bytearray()
        self._discarding = False

    def __bool__(self) -> bool:
        """True while received chunks wait to be taken (a partial line does not count)."""
        return bool(self._chunks)

    @property
    def chunks(self) -> Iterable[bytes]:
        """The chunks not yet taken, as they arrived."""
        return self._chunks

    @property
    def partial_line(self) -> bytes:
        """The start of a line whose end has not arrived (at most `limit` octets)."""
        return bytes(self._line)

    def append(self, data: bytes) -> None:
        self._chunks.append(data)

    def clear(self) -> None:
        """Forget everything received, a partial line included."""
        self._chunks.clear()
        self._line.clear()

    def next_chunk(self, most: int | None = None) -> bytes:
        """The next received chunk, cut to `most` octets (the rest stays); call when true."""
        chunk = self._chunks.popleft()
        if most is not None and most < len(chunk):
            self._chunks.appendleft(chunk[most:])
            chunk = chunk[:most]
        return chunk

    def give_back(self, data: bytes) -> None:
        """Put back, in front, what was taken but not used (the commands after DATA)."""
        self._chunks.appendleft(data)

    def next_line(self) -> Line | None:
        """One line without its CRLF (or bare LF), `TOO_LONG`, or None to wait for more."""
        while self._chunks:
            chunk = self._chunks.popleft()
            end = chunk.find(b"\n")
            if end < 0:
                self._hold(chunk)
                continue
            if end + 1 < len(chunk):
                self._chunks.appendleft(chunk[end + 1 :])
            if self._discarding:
                self._discarding = False
                return TOO_LONG
            self._line += chunk[:end]
            line = bytes(self._line)
            self._line.clear()
            return self._finish(line)
        return None

    def _hold(self, chunk: bytes) -> None:
        if self._discarding:
            return
        self._line += chunk
        if len(self._line) > self.limit:
            # Never buffer an unbounded line: drop it now, answer at its end.
            self._line.clear()
            self._discarding = True

    def _finish(self, line: bytes) -> Line:
        # A bare LF ends a command line too, as typed into `nc` (RFC 5321 §2.3.8 says
        # otherwise, but a command cannot be smuggled: only SMTP DATA's end is strict).
        self.bare_lf = not line.endswith(b"\r")
        if not self.bare_lf:
            line = line[:-1]
        if len(line) + len(b"\r\n") > self.limit:
            return TOO_LONG
        return line
