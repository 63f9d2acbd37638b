"""The parts the brief names, and how each language writes them between brackets."""

from __future__ import annotations

from enum import Enum
from typing import Final

from .language import Language


class Part(Enum):
    """Who does a step. The server's parts, the client's, and the mail intermediary."""

    LISTENER = "listener"
    """Server: accepts connections, checks who talks (limits, TLS), reports up."""
    BRAIN = "brain"
    """Server and client: decides what comes next."""
    UNDERSTAND = "understand"
    """Server: turns each line into a command, or says what is wrong with it."""
    PROCESS = "process"
    """Server: moves the conversation on (the state, the transaction, the data)."""
    SEND = "send"
    """Server and client: writes to the other side (a reply; a command)."""
    INTERMEDIARY = "intermediary"
    """The mail intermediary, named after its recipient: keeps what the server hands it."""
    TERMINUS = "terminus"
    """Server and client: ends the conversation."""
    WRITER = "writer"
    """Client: composes the message."""
    LISTEN = "listen"
    """Client: reads each reply."""
    PROCESSING = "processing"
    """Client: reads each reply and decides: go on, retry later, stop."""


LABELS: Final[dict[Language, dict[Part, str]]] = {
    "fr": {
        Part.LISTENER: "écouteur",
        Part.BRAIN: "cerveau",
        Part.UNDERSTAND: "comprendre",
        Part.PROCESS: "traiter",
        Part.SEND: "envoyer",
        Part.INTERMEDIARY: "intermédiaire",
        Part.TERMINUS: "terminus",
        Part.WRITER: "écrivain",
        Part.LISTEN: "écouter",
        Part.PROCESSING: "traitement",
    },
    "en": {part: part.value for part in Part},
}
"""As the brief spells them."""
