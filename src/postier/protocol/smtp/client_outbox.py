"""What the client writes: the bytes queued, what awaits a reply (in order), and the transcript.

With PIPELINING (RFC 2920 §3.1) several commands await their replies at once; the
replies come back in the order the commands went, so a queue pairs them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from postier.protocol.smtp.client_events import Awaited
from postier.protocol.smtp.client_transcript import DataLines, Party, TranscriptLine
from postier.protocol.smtp.data import DotStuffer

_END_OF_DATA = "the end of the message data"


@dataclass(frozen=True, slots=True)
class Pending:
    """A command (or the greeting, or the end of data) waiting for its reply."""

    awaited: Awaited
    shown: str
    """What it is, as a transcript shows it."""
    recipient: str = ""


class Outbox:
    """The bytes for `data_to_send()`, the replies awaited, and the lines of the dialogue."""

    def __init__(self, *, recording: bool, data_lines: int) -> None:
        self.pending: deque[Pending] = deque([Pending(Awaited.GREETING, "the greeting")])
        self._out = bytearray()
        self._recording = recording
        self._transcript: list[TranscriptLine] = []
        self._data_lines_limit = data_lines
        self._stuffer: DotStuffer | None = None
        self._data_lines: DataLines | None = None

    def send(self, data: bytes, pending: Pending, shown: str) -> None:
        """Queue `data`, whose reply `pending` waits for; `shown` is its transcript line."""
        self._out += data
        self.pending.append(pending)
        self.record(Party.CLIENT, shown)

    def take(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def record(self, party: Party, *texts: str) -> None:
        if self._recording:
            self._transcript.extend(TranscriptLine(party, text) for text in texts)

    def take_transcript(self) -> list[TranscriptLine]:
        lines, self._transcript = self._transcript, []
        return lines

    # --- the message data --------------------------------------------------------------

    def start_data(self) -> None:
        self._stuffer = DotStuffer()
        if self._recording:
            self._data_lines = DataLines(self._data_lines_limit)

    def data(self, data: bytes) -> bytes:
        """Message bytes as they go on the wire; the driver writes them, in pieces."""
        assert self._stuffer is not None
        wire = self._stuffer.feed(data)
        if self._data_lines is not None:
            self.record(Party.CLIENT, *self._data_lines.feed(wire))
        return wire

    def end_data(self) -> None:
        """Queue the end-of-data mark (RFC 5321 §4.1.1.4)."""
        assert self._stuffer is not None
        tail = self._stuffer.end()
        shown = self._data_lines.end(tail) if self._data_lines is not None else []
        self._stuffer = self._data_lines = None
        self._end_of_data(tail, *shown)

    def abort_data(self) -> None:
        """A lone "." for data never sent: the server leaves its data state (RFC 2920 §3.1)."""
        self._end_of_data(b".\r\n", ".")

    def _end_of_data(self, tail: bytes, *shown: str) -> None:
        self._out += tail
        self.record(Party.CLIENT, *shown)
        self.pending.append(Pending(Awaited.MESSAGE, _END_OF_DATA))

    def clear(self) -> None:
        """The connection is over: nothing awaits a reply any more."""
        self.pending.clear()
        self._stuffer = self._data_lines = None
