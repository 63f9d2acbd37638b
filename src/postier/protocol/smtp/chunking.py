"""BDAT bookkeeping (RFC 3030): the chunk being read, and the message its chunks make.

A chunk's octets are counted, never parsed: they are message data, or (when the BDAT
command was refused) read only to be thrown away before the refusal is sent, since
the client sends them whatever we answer (RFC 3030 §2, §4).
"""

from __future__ import annotations

from typing import NamedTuple

from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.state import State

OCTETS_PER_LINE = 1000
"""The per-line deadline counts a "line" per this many octets of a chunk, so that a
client dripping its chunk slowly is cut as if it dripped a line (RFC 5321 §4.5.3.1.6)."""


class Piece(NamedTuple):
    """What some octets of a chunk gave: message data to hand on, and lines to count."""

    data: bytes
    lines: int


class Chunk:
    """The BDAT chunk being read, and the size of the message its chunks make."""

    __slots__ = ("back_to", "last", "message_size", "refusal", "remaining", "size", "too_big")

    def __init__(self) -> None:
        self.size = 0
        self.remaining = 0
        self.last = False
        self.refusal: Reply | None = None
        """Set when the chunk is read only to be thrown away, then answered with this."""
        self.back_to = State.READY
        """Where a refused chunk, once read, leaves the connection: where it was refused."""
        self.message_size = 0
        self.too_big = False

    def new_message(self) -> None:
        """The first chunk of a message is about to start."""
        self.message_size = 0
        self.too_big = False

    def start(self, size: int, *, last: bool, refusal: Reply | None, back_to: State) -> None:
        self.size = self.remaining = size
        self.last = last
        self.refusal = refusal
        self.back_to = back_to

    def feed(self, octets: bytes, max_size: int) -> Piece:
        """Count `octets`, the next of this chunk (at most `remaining`); the data of them
        to hand on is empty when the chunk is refused or the message over `max_size`."""
        take = len(octets)
        before = self.size - self.remaining
        self.remaining -= take
        lines = (before + take) // OCTETS_PER_LINE - before // OCTETS_PER_LINE
        if self.refusal is not None:
            return Piece(b"", lines)  # not part of any message
        data = b""
        if not self.too_big and take:
            room = max(0, max_size - self.message_size)
            data = octets
            if take > room:
                # As DATA does: exactly the octets within the limit are handed on, so
                # that what the session gets does not depend on how the data was split.
                self.too_big = True
                data = octets[:room]
        self.message_size += take
        return Piece(data, lines)
