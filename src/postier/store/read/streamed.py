"""The index's record of a message too large to hold in memory: its start is extracted as
any message is, its attachments are counted and its size measured over a stream.

A message larger than `HEAD_BYTES` (a 50 MB attachment, say) is read twice, never whole:
`extract` gets its first `HEAD_BYTES` (all of its header and the start of its text, which
is more than the index keeps of it), and `AttachmentCounter` reads all of it a chunk at a
time to count its attachments by the same rule as `summary.count_attachments`, looking
only at part headers and at the lines that begin with `--`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .extract import Extracted, extract
from .mime import MAX_DEPTH
from .summary import _boundary, _content_type, fields, leaf_attachments

HEAD_BYTES: Final = 1 << 20
"""How much of a message the index reads at once: larger ones are streamed."""
READ_CHUNK: Final = 1 << 20
"""How much of a mailbox the index reads at a time."""
_MAX_LINE: Final = 1 << 16
"""A line longer than this is no boundary line (RFC 5322 caps lines at 998 octets)."""
_MAX_HEADER: Final = HEAD_BYTES
"""The part of a header block that is read (what `extract` reads of the message's)."""


def extract_streamed(head: bytes, chunks: Iterable[bytes]) -> tuple[Extracted, int]:
    """The record of the message that begins with `head` and whose bytes (LF line endings,
    no quoting) `chunks` gives, and its size."""
    counter = AttachmentCounter()
    size = 0
    for chunk in chunks:
        counter.feed(chunk)
        size += len(chunk)
    return dataclasses.replace(extract(head), attachments=counter.close()), size


@dataclass(slots=True)
class _Multipart:
    """A multipart being read: its delimiter line, the type its parts default to."""

    delimiter: bytes
    inner: str
    depth: int
    opened: bool = False
    """Whether a delimiter line opened a first part (else it is no multipart)."""


class AttachmentCounter:
    """Counts the attachments of a message given a chunk at a time, cut anywhere.

    The same count as `summary._count`, which splits each multipart body at its boundary
    lines: an outer multipart's boundary line ends the parts inside it, one whose first
    boundary line closes it (or that has none) is a single part, and so is one nested
    `MAX_DEPTH` deep.
    """

    def __init__(self) -> None:
        self.count = 0
        self._open: list[_Multipart] = []
        self._head: bytearray | None = bytearray()
        """The header block being read, or None in a body."""
        self._default = "text/plain"
        self._depth = 0
        self._carry = b""
        """The start of a line that the last chunk cut."""
        self._skipping = False
        """The line being read cannot matter: skip to its end."""
        self._done = False

    def feed(self, chunk: bytes) -> None:
        if self._done:
            return
        data = self._carry + chunk if self._carry else chunk
        self._carry = b""
        pos = 0
        if self._skipping:
            lf = data.find(b"\n")
            if lf < 0:
                return
            self._skipping = False
            pos = lf + 1
        while pos < len(data) and not self._done:
            if self._head is None:
                # In a body only a line that begins with `--` can be a boundary line.
                if data.startswith(b"--", pos):
                    hit = pos
                else:
                    found = data.find(b"\n--", pos)
                    if found < 0:
                        self._keep(data, data.rfind(b"\n", pos) + 1 or pos)
                        return
                    hit = found + 1
            else:
                hit = pos
            lf = data.find(b"\n", hit)
            if lf < 0:
                self._keep(data, hit)
                return
            self._line(data[hit:lf])
            pos = lf + 1

    def close(self) -> int:
        """The count, once the whole message was fed."""
        if not self._done:
            if self._carry and not self._skipping:
                self._line(self._carry)
            if self._head is not None:
                self._part_begins()
            while self._open:
                self._close_innermost()
            self._done = True
        return self.count

    def _keep(self, data: bytes, start: int) -> None:
        """Carry the line cut at the chunk's end into the next chunk, if it may matter."""
        rest = data[start:]
        if len(rest) > _MAX_LINE or (self._head is None and not b"--".startswith(rest[:2])):
            self._skipping = True
        else:
            self._carry = rest

    def _line(self, line: bytes) -> None:
        found = self._boundary_line(line) if line.startswith(b"--") else None
        if self._head is not None:
            if found is None and line:
                if len(self._head) < _MAX_HEADER:
                    self._head += line + b"\n"
                return
            self._part_begins()  # an empty line, or a boundary line that ends the part
            if found is None:
                return
        if found is not None:
            self._at_boundary(*found)

    def _boundary_line(self, line: bytes) -> tuple[int, bool] | None:
        """Which open multipart `line` is a boundary line of (the outermost first, as the
        outer one is split first), and whether it closes it."""
        for index, multipart in enumerate(self._open):
            if not line.startswith(multipart.delimiter):
                continue
            rest = line[len(multipart.delimiter) :]
            closing = rest.startswith(b"--")
            # Only transport padding may follow the boundary on its line.
            if not (rest[2:] if closing else rest).strip(b" \t\r"):
                return index, closing
        return None

    def _at_boundary(self, index: int, closing: bool) -> None:
        while len(self._open) > index + 1:
            self._close_innermost()
        multipart = self._open[index]
        if closing:
            self._close_innermost()  # never opened: one part, the whole body
            return
        multipart.opened = True
        self._head = bytearray()
        self._default = multipart.inner
        self._depth = multipart.depth

    def _close_innermost(self) -> None:
        if not self._open.pop().opened:
            self.count += 1

    def _part_begins(self) -> None:
        """The header block of a part (or of the message) was read: a multipart opens,
        a single part is counted."""
        assert self._head is not None
        values = fields(bytes(self._head))
        self._head = None
        kind = _content_type(values, self._default)
        if kind.startswith("multipart/") and self._depth < MAX_DEPTH:
            boundary = _boundary(values["content-type"]) if "content-type" in values else None
            if boundary is not None:
                # RFC 2046 §5.1.5: in a digest, a part without a type is a message.
                inner = "message/rfc822" if kind == "multipart/digest" else "text/plain"
                delimiter = b"--" + boundary.encode()
                self._open.append(_Multipart(delimiter, inner, self._depth + 1))
                return
        self.count += leaf_attachments(values, kind)
        if not self._open:
            self._done = True  # a single part to the end: nothing else can count
