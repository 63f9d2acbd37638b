"""The narration on a terminal: one line a step, the part's label first, in brackets."""

from __future__ import annotations

import sys
from typing import TextIO

from .language import Language
from .narration import Narration
from .parts import LABELS

SEPARATOR = " — "
"""Between the wire text and what it means."""


class TerminalPrinter:
    """Writes each step as `[label] #session wire — text` on `stream` (standard output:
    the log keeps standard error), labels padded so the columns line up."""

    def __init__(self, language: Language, stream: TextIO | None = None) -> None:
        self.labels = LABELS[language]
        self.stream = stream if stream is not None else sys.stdout
        self.width = max(len(label) for label in self.labels.values()) + 2

    def __call__(self, step: Narration) -> None:
        label = f"[{self.labels[step.part]}]".ljust(self.width)
        said = SEPARATOR.join(piece for piece in (step.wire, step.text) if piece)
        try:
            self.stream.write(f"{label} #{step.session} {said}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken standard output must not stop the server
