"""The client's side told step by step (`postier send --explain`): the writer's
message, each command sent, each reply heard and what processing decides from it.

It reads the client core's transcript (secrets already masked there, the message's
lines already bounded), so it tells exactly what went over the wire.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from postier.client import Transcript
from postier.protocol.smtp import (
    ClientEvent,
    ClientState,
    Party,
    Refused,
    RemoteProtocolError,
    TransactionDone,
    parse_command,
)

from .narration import Narration, Sink
from .parts import Part
from .server_narrator import SHOWN_DATA_LINES, _fields, shown
from .texts import Say, Texts


class ClientNarrator(Transcript):
    """A transcript that tells each line by the client's part that handles it."""

    def __init__(self, texts: Texts, sink: Sink) -> None:
        super().__init__(sys.stdout, colour=False, data_lines=SHOWN_DATA_LINES)
        self.texts = texts
        self.sink = sink
        self._greeted = False
        self._in_data = False
        self._state = ClientState.CONNECTED
        self._ended = False
        """The terminus has spoken (221): what the core says after it is not told."""

    def _tell(self, part: Part, text: str, wire: str = "") -> None:
        self.sink(Narration(1, part, wire, text))

    def _say(self, part: Part, say: Say, **values: object) -> None:
        self._tell(part, self.texts.says[say].format(**values))

    def composed(self, size: int, subject: str, recipients: Sequence[str]) -> None:
        """The writer has the message ready, before the first byte goes out."""
        to = ", ".join(f"<{r}>" for r in recipients)
        self._say(Part.WRITER, Say.COMPOSED, size=size, subject=subject, recipients=to)

    def event(self, event: ClientEvent, state: ClientState) -> None:
        """The client core's event, told by the brain, and the state it moved to."""
        if self._ended:
            return
        values: dict[str, object] = {}
        if isinstance(event, Refused):
            values["command"] = event.command
        elif isinstance(event, TransactionDone):
            replies = event.result.recipient_replies.values()
            values["accepted"] = sum(reply.is_positive for reply in replies)
            values["refused"] = sum(not reply.is_positive for reply in replies)
        self._tell(Part.BRAIN, self.texts.client_events[type(event)].format(**values))
        if state is not self._state:
            before, self._state = self._state, state
            meaning = self.texts.client_states[state]
            self._say(Part.BRAIN, Say.MOVE, before=before.name, after=state.name, meaning=meaning)

    def line(self, party: Party, text: str) -> None:
        if party is Party.NOTE:
            self._say(Part.BRAIN, Say.NOTE, note=text)
        elif party is Party.CLIENT:
            self._sent(text)
        else:
            self._heard(text)

    def _sent(self, text: str) -> None:
        wire = "C: " + shown(text.encode("utf-8", errors="surrogateescape"))
        if self._in_data:
            if text == ".":
                self._in_data = False
                self._tell(Part.SEND, self.texts.says[Say.DATA_SENT], wire)
            else:
                self._tell(Part.SEND, "", wire)
            return
        try:
            command = parse_command(text.encode("utf-8", errors="surrogateescape"))
        except RemoteProtocolError:
            self._tell(Part.SEND, "", wire)  # AUTH's masked lines, among others
            return
        template = self.texts.commands[type(command)]
        self._tell(Part.SEND, template.format(**_fields(command)), wire)

    def _heard(self, text: str) -> None:
        self._tell(Part.LISTEN, "", "S: " + shown(text.encode("utf-8", errors="replace")))
        if len(text) > 3 and text[3] == "-":
            return  # more lines of the same reply follow
        try:
            code = int(text[:3])
        except ValueError:
            return
        meaning = self.texts.codes.get(code, self.texts.says[Say.UNKNOWN_CODE])
        if code == 220 and not self._greeted:
            self._greeted = True
            self._say(Part.PROCESSING, Say.GREETED)
        elif code == 354:
            self._in_data = True
            self._say(Part.PROCESSING, Say.DATA_ALLOWED)
        elif code == 221:
            self._ended = True
            self._say(Part.TERMINUS, Say.CLIENT_DONE)
        elif code < 400:
            self._say(Part.PROCESSING, Say.GO_ON, code=code, meaning=meaning)
        elif code < 500:
            self._say(Part.PROCESSING, Say.TRY_LATER, code=code, meaning=meaning)
        else:
            self._say(Part.PROCESSING, Say.STOPPED, code=code, meaning=meaning)
