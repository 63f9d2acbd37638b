"""A stored message as RETR and TOP send it: CRLF line ends, byte-stuffed, a "." to end it.

RFC 1939 §3: each line of a multi-line response ends with CRLF, a line that starts with
"." gets one more in front, and a line holding a single "." ends the response. The store
may hold LF-only lines (mbox) or CRLF ones (a Maildir a mail client wrote): either way the
wire has CRLF, and a lone CR stays a byte of its line. The message comes in chunks of any
size (a 100 MB message never whole in memory); a CRLF split between two chunks is seen
as one, by holding a chunk's last CR until the next.

`WireSize` counts the octets of the same conversion, before stuffing: the exact size
that LIST and STAT announce for what RETR then sends (RFC 1939 §5).
"""

from __future__ import annotations

END: bytes = b".\r\n"
"""RFC 1939 §3: the line that ends a multi-line response."""


class MessageWriter:
    """One message on its way out; `body_lines` (TOP) cuts it after the header block and
    that many lines of its body (RFC 1939 §7)."""

    __slots__ = ("_at_start", "_held_cr", "_in_header", "_left", "_line_start", "done")

    def __init__(self, body_lines: int | None = None) -> None:
        self._held_cr = False
        """The last chunk ended with CR: its LF, if it comes, starts the next."""
        self._line_start = True
        """What was sent so far ends a line (a "." at the start of the next is stuffed)."""
        self._left = body_lines
        self._in_header = True
        self._at_start = True
        """TOP: the unstuffed text so far ends a line."""
        self.done = False
        """TOP has sent all it sends: the rest of the message need not be read."""

    def feed(self, chunk: bytes) -> bytes:
        """The wire form of the next chunk of the message (perhaps b"")."""
        if self.done:
            return b""
        data = self._crlf(chunk)
        if self._left is not None:
            data = self._cut(data)
        return self._stuff(data)

    def end(self) -> bytes:
        """What ends the message: a last CRLF when it lacked one, then ".\r\n"."""
        tail = b""
        if self._held_cr and not self.done:
            tail = self._stuff(b"\r")  # a CR at the very end: no LF came
            self._held_cr = False
        if not self._line_start:
            tail += b"\r\n"
            self._line_start = True
        return tail + END

    def _crlf(self, chunk: bytes) -> bytes:
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._held_cr = True
        if b"\n" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return chunk

    def _stuff(self, data: bytes) -> bytes:
        if not data:
            return data
        if b"\r\n." in data:
            data = data.replace(b"\r\n.", b"\r\n..")
        if self._line_start and data.startswith(b"."):
            data = b"." + data
        self._line_start = data.endswith(b"\r\n")
        return data

    def _cut(self, data: bytes) -> bytes:
        """TOP: the header block, its empty line, then `_left` lines, and nothing after."""
        pos = 0
        while pos < len(data):
            if self._in_header and self._at_start and data.startswith(b"\r\n", pos):
                self._in_header = False
                pos += 2
            else:
                end = data.find(b"\r\n", pos)
                if end < 0:
                    self._at_start = False
                    return data
                pos = end + 2
                if not self._in_header:
                    assert self._left is not None
                    self._left -= 1
            self._at_start = True
            if not self._in_header and self._left == 0:
                self.done = True
                return data[:pos]
        return data


class WireSize:
    """The octets `MessageWriter` sends for a message, before stuffing and the end line."""

    __slots__ = ("_ends_line", "_held_cr", "size")

    def __init__(self) -> None:
        self.size = 0
        self._held_cr = False
        self._ends_line = True

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        crlf = chunk.count(b"\r\n")
        if self._held_cr and chunk.startswith(b"\n"):
            crlf += 1  # a CRLF split between two chunks
        # Each LF without its CR gains one.
        self.size += len(chunk) + chunk.count(b"\n") - crlf
        self._held_cr = chunk.endswith(b"\r")
        self._ends_line = chunk.endswith(b"\n")

    @property
    def total(self) -> int:
        """The size, with the CRLF that ends a message lacking one."""
        return self.size if self._ends_line else self.size + 2


def wire_size(chunks: list[bytes] | tuple[bytes, ...]) -> int:
    counter = WireSize()
    for chunk in chunks:
        counter.feed(chunk)
    return counter.total
