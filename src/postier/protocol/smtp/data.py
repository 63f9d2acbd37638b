"""The DATA stream: the end-of-data mark, dot-stuffing both ways, and the limits on it.

RFC 5321 §4.1.1.4: the data ends with a line holding a single ".", i.e. the sequence
<CRLF>.<CRLF>, where the first CRLF ends the last line of the message (or the DATA
command itself, for an empty message). Only that exact sequence ends it: a bare LF or
a bare CR never does, so a smuggled ".<LF>" stays message text (CVE-2023-51764 family).
§4.5.2: a line starting with "." has that first "." removed on receipt, and one added
on sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_END = b"\r\n.\r\n"
_LINE_START_DOT = b"\r\n."
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(slots=True)
class DataResult:
    """What one call of `DataDecoder.feed` produced."""

    pieces: list[bytes] = field(default_factory=list)
    """Unstuffed message data, in order; empty once the message is over its size limit."""
    consumed: int = 0
    """How many bytes of the input were data; the rest (if `finished`) is commands."""
    finished: bool = False


class DataDecoder:
    """Decode one message's DATA: find its end, undo dot-stuffing, check its limits.

    Works on chunks of any size and split anywhere, holding back at most four bytes
    that might start the end mark. Never holds the message: what it decodes is handed
    on at once, and once the message is over `max_size` it is only counted.
    """

    def __init__(self, max_size: int, line_limit: int) -> None:
        # The CRLF ending the DATA command counts as the end of the line before the
        # message (§4.1.1.4), so the message can end at once with ".<CRLF>". It is
        # held as a virtual prefix that is never handed on as data.
        self._tail = b"\r\n"
        self._virtual = 2
        self._max_size = max_size
        self._max_line = line_limit - 1  # octets before the LF, CR included
        self._run = 0
        self.size = 0
        self.too_big = False
        self.line_too_long = False

    def feed(self, data: bytes) -> DataResult:
        tail = self._tail
        buf = tail + data if tail else data
        result = DataResult()
        pos = 0
        search = 0
        keep = len(buf)
        while True:
            i = buf.find(_LINE_START_DOT, search)
            if i < 0:
                if buf.endswith(b"\r\n"):
                    keep = len(buf) - 2
                elif buf.endswith(b"\r"):
                    keep = len(buf) - 1
                break
            after = buf[i + 3 : i + 5]
            if after == b"\r\n":
                self._emit(buf, pos, i + 2, result)
                result.consumed = i + 5 - len(tail)
                result.finished = True
                self._tail = b""
                return result
            if after in {b"", b"\r"}:
                keep = i  # might still become the end mark
                break
            # A stuffed line: hand on the CRLF, drop the dot (§4.5.2).
            self._emit(buf, pos, i + 2, result)
            pos = search = i + 3
        keep = max(keep, pos)
        self._emit(buf, pos, keep, result)
        self._virtual = max(0, self._virtual - keep)
        self._tail = buf[keep:]
        result.consumed = len(data)
        return result

    def _emit(self, buf: bytes, start: int, end: int, result: DataResult) -> None:
        start = max(start, self._virtual)
        if end <= start:
            return
        piece = buf[start:end]
        room = self._max_size - self.size
        self.size += len(piece)
        if self.too_big:
            return
        if len(piece) > room:
            # Hand on exactly the octets within the limit, so that what the session
            # gets does not depend on how the data was split into chunks.
            self.too_big = True
            piece = piece[:room]
            if not piece:
                return
        self._check_lines(piece)
        result.pieces.append(piece)

    def _check_lines(self, piece: bytes) -> None:
        if self.line_too_long:
            return
        first = piece.find(b"\n")
        if first < 0:
            self._run += len(piece)
            self.line_too_long = self._run > self._max_line
            return
        if self._run + first > self._max_line:
            self.line_too_long = True
            return
        # Each next line must end within max_line + 1 octets of the newline before it.
        # Jumping to the last newline within that reach (one memrchr) checks every line
        # in between at once: a search per thousand octets, not per line.
        reach = self._max_line + 2
        newline = first
        while len(piece) - newline - 1 > self._max_line:
            newline = piece.rfind(b"\n", newline + 1, newline + reach)
            if newline < 0:
                self.line_too_long = True
                return
        self._run = len(piece) - piece.rfind(b"\n") - 1


class DotStuffer:
    """Prepare message bytes for the wire: CRLF line endings and dot-stuffing (§4.5.2).

    Bare LF and bare CR become CRLF, as the RFC requires of a sender and as smtplib
    does; feed chunks split anywhere, then `end()` gives the closing `.<CRLF>`.
    """

    def __init__(self) -> None:
        self._carry = b""
        self._line_start = True

    def feed(self, data: bytes) -> bytes:
        data = self._carry + data
        self._carry = b""
        if data.endswith(b"\r"):
            # Maybe the first half of a CRLF split across chunks.
            self._carry = b"\r"
            data = data[:-1]
        if not data:
            return b""
        out = _EOL.sub(b"\r\n", data)
        if self._line_start and out.startswith(b"."):
            out = b"." + out
        out = out.replace(_LINE_START_DOT, b"\r\n..")
        self._line_start = out.endswith(b"\r\n")
        return out

    def end(self) -> bytes:
        out = b""
        if self._carry:
            out = b"\r\n"
            self._carry = b""
            self._line_start = True
        if not self._line_start:
            out += b"\r\n"
        return out + b".\r\n"


def dot_stuff(message: bytes) -> bytes:
    """The whole wire form of a message body, end mark included."""
    stuffer = DotStuffer()
    return stuffer.feed(message) + stuffer.end()
