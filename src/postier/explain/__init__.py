"""The teaching view: every step of a conversation told by the part of the brief that
does it ("Projet SMTP, étape 1"), in French or English: printed as it happens
(`postier serve --explain`, `postier send --explain`), or recorded and told when asked
(the page's sessions view, `/api/v1/session/{ID}`).

It watches the protocol cores (their `Observer`, their events, the client's transcript)
and is told by the server's session what happens around them; it never changes them.
"""

from .client_narrator import ClientNarrator
from .explainer import CATALOGUES, Explainer, mailbox_paths
from .language import LANGUAGES, Language, as_language, language_from_environment
from .narration import Narration, Sink
from .parts import LABELS, Part
from .printer import TerminalPrinter
from .recorder import SessionRecord, SessionRecorder, SessionRecords
from .server_narrator import ServerNarrator
from .texts import Say, Texts

__all__ = [
    "CATALOGUES",
    "LABELS",
    "LANGUAGES",
    "ClientNarrator",
    "Explainer",
    "Language",
    "Narration",
    "Part",
    "Say",
    "ServerNarrator",
    "SessionRecord",
    "SessionRecorder",
    "SessionRecords",
    "Sink",
    "TerminalPrinter",
    "Texts",
    "as_language",
    "language_from_environment",
    "mailbox_paths",
]
