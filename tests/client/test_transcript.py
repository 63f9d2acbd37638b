"""The transcript: C: and S: lines, colour only on a terminal, nothing a reply could abuse."""

from __future__ import annotations

import io

import pytest

from postier.client.transcript import Transcript
from postier.protocol.smtp.client_transcript import DataLines, Party


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    transcript = Transcript(out)
    transcript.line(Party.CLIENT, "EHLO me")
    transcript.line(Party.SERVER, "250 ok")
    assert out.getvalue() == "C: EHLO me\nS: 250 ok\n"


def test_colour_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    Transcript(out).line(Party.SERVER, "250 ok")
    assert out.getvalue() == "\033[36mS: 250 ok\033[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    Transcript(out).line(Party.SERVER, "250 ok")
    assert out.getvalue() == "S: 250 ok\n"


def test_control_characters_from_the_server_are_shown_escaped() -> None:
    out = io.StringIO()
    Transcript(out).line(Party.SERVER, "250 \x1b[2Jgotcha")
    assert out.getvalue() == "S: 250 \\x1b[2Jgotcha\n"


def test_data_lines_split_anywhere_and_cut_short() -> None:
    lines = DataLines(limit=3)
    wire = "première\r\nseconde\r\n..\r\nquatre\r\ncinq\r\n".encode()
    shown = []
    for byte in wire:
        shown += lines.feed(bytes([byte]))
    shown += lines.end(b".\r\n")
    assert shown == ["première", "seconde", "..", "(2 more lines of message data not shown)", "."]
