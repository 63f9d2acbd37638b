"""The teaching view: every step of a conversation told by the part of the brief that
does it ("Projet SMTP, étape 1"), in French or English (`postier serve --explain`).

This package's own names are light (settings and the CLI import them); the narrators
live in `server_narrator` and are set up by `explainer`.
"""

from .language import LANGUAGES, Language, language_from_environment
from .narration import Narration, Sink
from .parts import Part
from .printer import TerminalPrinter

__all__ = [
    "LANGUAGES",
    "Language",
    "Narration",
    "Part",
    "Sink",
    "TerminalPrinter",
    "language_from_environment",
]
