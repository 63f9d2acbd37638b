"""The dialogue as a transcript shows it: who said what, secrets masked, long data cut short."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from enum import Enum

MASK = "********"
"""What a transcript shows in place of an AUTH secret (RFC 4954 §4: it is only base64)."""

# A displayed line is cut here; SMTP's own limit on a text line is 1000 octets
# (RFC 5321 §4.5.3.1.6), so only a broken message reaches it.
_SHOWN_LINE = 1000


class Party(Enum):
    CLIENT = "C"
    SERVER = "S"
    NOTE = "*"
    """Not on the wire: what happened around it (TLS started, data lines left out)."""


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    party: Party
    text: str


class DataLines:
    """The message data as sent (dot-stuffed), line by line, for the first `limit` lines.

    The rest is only counted, so a 20 MB attachment costs a transcript one note.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self.shown = 0
        self.hidden = 0

    def feed(self, wire: bytes) -> list[str]:
        if self.shown >= self._limit:
            self.hidden += wire.count(b"\n")
            return []
        lines = (self._partial + self._decoder.decode(wire)).split("\r\n")
        self._partial = lines.pop()[:_SHOWN_LINE]
        lines = [line[:_SHOWN_LINE] for line in lines]
        room = self._limit - self.shown
        self.shown += min(room, len(lines))
        self.hidden += max(0, len(lines) - room)
        return lines[:room]

    def end(self, tail: bytes) -> list[str]:
        """The lines of `tail` (the end-of-data mark, from `DotStuffer.end()`) to show.

        The closing "." is always shown, after a note of the lines left out.
        """
        lines = self.feed(tail)
        if not self.hidden:
            return lines
        left_out = self.hidden - 1  # the "." itself was counted among the hidden
        note = [f"({left_out} more lines of message data not shown)"] if left_out else []
        return [*lines, *note, "."]
