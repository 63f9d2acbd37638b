"""Print the dialogue as it happens: client lines `C:`, server lines `S:`, in colour on a terminal.

AUTH secrets are masked before they get here (`protocol.client_transcript`), so
a transcript can be pasted into a bug report as it is.
"""

from __future__ import annotations

import os
from typing import TextIO

from postier.protocol.smtp import ClientEvent, ClientState, Party

_COLOURS = {Party.CLIENT: "\033[32m", Party.SERVER: "\033[36m", Party.NOTE: "\033[2m"}
_RESET = "\033[0m"


class Transcript:
    """Writes each line of the dialogue to `stream`.

    Colour is used when `stream` is a terminal and `NO_COLOR` is not set (no-color.org),
    unless `colour` says otherwise. `data_lines` bounds how much of the message is shown.
    """

    def __init__(
        self, stream: TextIO, *, colour: bool | None = None, data_lines: int = 100
    ) -> None:
        self._stream = stream
        if colour is None:
            colour = stream.isatty() and "NO_COLOR" not in os.environ
        self._colour = colour
        self.data_lines = data_lines

    def event(self, event: ClientEvent, state: ClientState) -> None:
        """An event of the client core, and the state it left the core in: a transcript
        shows only the wire; a narration (`postier.explain`) tells these too."""

    def line(self, party: Party, text: str) -> None:
        shown = f"{party.value}: {_printable(text)}"
        if self._colour:
            shown = f"{_COLOURS[party]}{shown}{_RESET}"
        self._stream.write(shown + "\n")
        self._stream.flush()


def _printable(text: str) -> str:
    """Control characters escaped: a server's reply must not drive the user's terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
