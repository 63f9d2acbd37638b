"""The server's side told step by step: what the core reads, decides and answers (as
its `Observer`), what the listener, the intermediaries and the terminus do (as the
session's calls), each step as a `Narration` for a sink.

One narrator a session. It keeps only what a lesson needs: the state as the core last
moved it, the command being handled, the count of recipients, and at most
`SHOWN_DATA_LINES` lines of the message (the rest is counted, never kept).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from postier.ends import EndReason
from postier.protocol.smtp import (
    COMMAND_STATES,
    TRANSITIONS,
    Command,
    CommandRefused,
    DataChunk,
    MessageComplete,
    MessageRefused,
    RecipientAccepted,
    RemoteProtocolError,
    Reply,
    ServerEvent,
    State,
    TransactionStarted,
    parse_command,
    verb_of,
)

from .narration import Narration, Sink
from .parts import Part
from .texts import Say, Texts

SHOWN_DATA_LINES: Final = 5
"""Lines of a message shown as they come; the others are only counted."""
SHOWN_LINE_LENGTH: Final = 200
"""Characters of a line shown; a longer one ends with an ellipsis."""
SECRET_WIRE: Final = "C: ****"

VERBS: Final[dict[str, type[Command]]] = {}
"""Each command class by its verb, for the hints of a line the grammar refused."""
for _state, _command in TRANSITIONS:
    VERBS[_command.verb] = _command
ORDER: Final = ("EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET",
                "NOOP", "VRFY", "HELP", "QUIT")  # fmt: skip
"""The order verbs are listed in: a conversation's own."""

EVENT_PARTS: Final[dict[str, Part]] = {
    "HeloAccepted": Part.BRAIN,
    "TransactionStarted": Part.PROCESS,
    "SenderOffered": Part.BRAIN,
    "RecipientOffered": Part.BRAIN,
    "RecipientAccepted": Part.PROCESS,
    "DataStarted": Part.PROCESS,
    "DataChunk": Part.PROCESS,
    "MessageComplete": Part.PROCESS,
    "MessageRefused": Part.PROCESS,
    "CommandRefused": Part.BRAIN,
    "CredentialsReceived": Part.BRAIN,
    "StartTlsRequested": Part.LISTENER,
    "Closing": Part.TERMINUS,
}
"""Which part tells each event of the core."""


def verbs_in(state: State, unoffered: frozenset[str] = frozenset()) -> str:
    """The commands the core takes in `state`, from its own table, but those this
    server does not offer (STARTTLS without a certificate, AUTH without accounts)."""
    taken = {command.verb for (at, command) in TRANSITIONS if at is state} - unoffered
    return ", ".join(verb for verb in ORDER if verb in taken)


def shown(data: bytes) -> str:
    """A line as a terminal can show it: UTF-8 where it is, control characters escaped."""
    text = data.decode("utf-8", errors="backslashreplace")
    text = "".join(ch if ch.isprintable() or ch == "\t" else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > SHOWN_LINE_LENGTH:
        return text[:SHOWN_LINE_LENGTH] + "…"
    return text


def masked(line: bytes) -> str:
    """The command line as the narration shows it: an AUTH initial response hidden."""
    if verb_of(line) == "AUTH":
        words = line.split()
        if len(words) > 2:
            return shown(b" ".join(words[:2])) + " ****"
    return shown(line)


def _no_paths(recipients: Sequence[str]) -> list[Path]:
    return [Path(recipient) for recipient in recipients]


def _fields(item: object) -> dict[str, object]:
    """A command's or an event's fields, for its text (shallow: nothing is copied)."""
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}  # type: ignore[arg-type]


class ServerNarrator:
    """Tells one session, number `session`, in `texts`' language, to `sink`."""

    def __init__(
        self,
        session: int,
        texts: Texts,
        sink: Sink,
        *,
        line_limit: int,
        fsync: bool = True,
        unoffered: frozenset[str] = frozenset(),
        mailbox_paths: Callable[[Sequence[str]], list[Path]] | None = None,
    ) -> None:
        self.session = session
        self.mailbox_paths = mailbox_paths or _no_paths
        """Where each recipient's mailbox is (the store's naming, as `Explainer` has it)."""
        self.unoffered = unoffered
        self.texts = texts
        self.sink = sink
        self.line_limit = line_limit
        self.fsync = fsync
        self.state = State.CONNECTED
        self._command: type[Command] | None = None
        self._verb = ""
        self._told_bare_lf = False
        self._recipients = 0
        self._data_lines = 0
        self._data_shown = 0
        self._partial = b""
        self._held_move: tuple[State, State] | None = None
        self._held: list[Narration] | None = []
        """What the core said before the listener's word (its greeting): told after it."""

    def attach(self, core: object) -> None:
        """Told of the core it watches; a printing narrator needs nothing of it."""

    def _tell(self, part: Part, text: str, wire: str = "") -> None:
        step = Narration(self.session, part, wire, text)
        if self._held is not None:
            self._held.append(step)
        else:
            self.sink(step)

    def _say(self, part: Part, say: Say, **values: object) -> None:
        self._tell(part, self.texts.says[say].format(**values))

    # --- the listener, the intermediaries, the terminus (the session's calls) ------------

    def accepted(self, peer: str, port: int | None, count: int) -> None:
        held, self._held = self._held or [], None
        self._say(Part.LISTENER, Say.ACCEPTED, peer=peer, port=port or "?", count=count)
        for step in held:
            self.sink(step)

    def refused(self, peer: str, reason: str) -> None:
        """Turned away: the greeting held back was never sent (the refusal replaces it)."""
        self._held = None
        self._say(Part.LISTENER, Say.REFUSED, peer=peer, reason=reason)

    def tls_up(self, info: str | None) -> None:
        self._say(Part.LISTENER, Say.TLS_UP, info=info or "TLS")

    def stored(self, recipients: Sequence[str], size: int, queue_id: str = "") -> None:
        """Each intermediary kept its copy (`queue_id` names the delivery); the 250 comes
        next."""
        for recipient, path in zip(recipients, self.mailbox_paths(recipients), strict=True):
            self._say(Part.INTERMEDIARY, Say.STORED, recipient=recipient, path=path, size=size)
        self._say(Part.INTERMEDIARY, Say.ON_DISK if self.fsync else Say.UNSYNCED)

    def chaos(self, trigger: str) -> None:
        """The reply just told is a failure made on purpose (`--chaos`)."""
        self._say(Part.BRAIN, Say.CHAOS, trigger=trigger)

    def not_stored(self) -> None:
        self._say(Part.INTERMEDIARY, Say.NOT_STORED)

    def ended(self, reason: EndReason) -> None:
        if self._held_move is not None:
            self._end_of_data()
        self._tell(Part.TERMINUS, self.texts.ends[reason])

    # --- the core (its `Observer`) -------------------------------------------------------

    def line(self, line: bytes | None, *, bare_lf: bool) -> None:
        if line is None:
            self._command, self._verb = None, ""
            self._say(Part.UNDERSTAND, Say.TOO_LONG, limit=self.line_limit)
            return
        self._verb = verb_of(line)
        try:
            command = parse_command(line)
        except RemoteProtocolError:
            self._command = VERBS.get(self._verb)
            text = self.texts.says[Say.UNPARSED]
        else:
            self._command = type(command)
            text = self.texts.commands[type(command)].format(**_fields(command))
        self._tell(Part.UNDERSTAND, text, "C: " + masked(line))
        if bare_lf and not self._told_bare_lf:
            self._told_bare_lf = True
            self._say(Part.UNDERSTAND, Say.BARE_LF)

    def line_ended(self, line: bytes | None, bare_lf: bool) -> None:
        """`line`, its arguments by position (as a recorded session replays them)."""
        self.line(line, bare_lf=bare_lf)

    def secret(self) -> None:
        self._tell(Part.UNDERSTAND, self.texts.says[Say.SECRET], SECRET_WIRE)

    def moved(self, before: State, after: State) -> None:
        self.state = after
        if before is after:
            return
        if before is State.DATA:
            # The core reads the message's lines, then moves, then hands out their
            # events: the move is told after them, where a reader of the dialogue
            # expects it (`_end_of_data`).
            self._held_move = (before, after)
            return
        self._tell_move(before, after)

    def _tell_move(self, before: State, after: State) -> None:
        meaning = self.texts.states[after]
        self._say(Part.PROCESS, Say.MOVE, before=before.name, after=after.name, meaning=meaning)
        if after in COMMAND_STATES:
            self._say(Part.BRAIN, Say.NEXT, verbs=verbs_in(after, self.unoffered))

    def replied(self, reply: Reply) -> None:
        lines = reply.to_bytes().decode("utf-8", errors="backslashreplace").split("\r\n")[:-1]
        for wire in lines[:-1]:
            self._tell(Part.SEND, "", "S: " + wire)
        meaning = self.texts.codes.get(reply.code, self.texts.says[Say.UNKNOWN_CODE])
        said = self.texts.says[Say.CODE].format(code=reply.code, meaning=meaning)
        self._tell(Part.SEND, said, "S: " + lines[-1])

    # --- the core's events (from the session, as it takes them) ----------------------

    def event(self, event: ServerEvent) -> None:
        kind = type(event)
        values = _fields(event)
        if isinstance(event, DataChunk):
            self._data(event.data)
            return
        if isinstance(event, TransactionStarted):
            self._recipients = 0
            self._data_lines = self._data_shown = 0
            self._partial = b""
        elif isinstance(event, RecipientAccepted):
            self._recipients += 1
            values["count"] = self._recipients
        elif isinstance(event, MessageComplete | MessageRefused):
            values["count"] = len(event.recipients)
        if isinstance(event, MessageComplete | MessageRefused) or self._held_move is not None:
            self._end_of_data()
        text = self.texts.events[kind].format(**values)
        if isinstance(event, CommandRefused):
            hint = self._hint(event.reply)
            if hint:
                text = self.texts.says[Say.HINT].format(what=text, hint=hint)
        self._tell(EVENT_PARTS[kind.__name__], text)

    def _hint(self, reply: Reply) -> str:
        """What the learner should send instead, for the refusals a person makes."""
        command = self._command
        if reply.code == 503 and command is not None:
            hint = self.texts.sequence_hints.get(command)
            return hint or self.texts.says[Say.SEQUENCE].format(
                verbs=verbs_in(self.state, self.unoffered)
            )
        if reply.code == 501 and command is not None:
            return self.texts.syntax_hints.get(command, "")
        if reply.code == 500 and self._verb and self._verb not in VERBS:
            return self.texts.says[Say.UNKNOWN_VERB].format(verbs=", ".join(ORDER))
        return ""

    def _data(self, data: bytes) -> None:
        """Show the message's first lines as they come; count the rest."""
        self._data_lines += data.count(b"\n")
        if self._data_shown >= SHOWN_DATA_LINES:
            return
        pending = self._partial + data
        while self._data_shown < SHOWN_DATA_LINES:
            end = pending.find(b"\n")
            if end < 0:
                break
            self._data_shown += 1
            text = self.texts.events[DataChunk]
            self._tell(Part.PROCESS, text, "C: " + shown(pending[:end].rstrip(b"\r")))
            pending = pending[end + 1 :]
        # Bounded: a line is kept only up to what is shown of it.
        self._partial = pending[: SHOWN_LINE_LENGTH * 4]

    def more_data_lines(self, count: int) -> None:
        """Lines of the message that were counted, not kept (a recorded session)."""
        self._data_lines += count

    def _end_of_data(self) -> None:
        more = self._data_lines - self._data_shown
        if more > 0:
            self._say(Part.PROCESS, Say.DATA_MORE, count=more)
        self._data_lines = self._data_shown = 0
        self._partial = b""
        if self._held_move is not None:
            move, self._held_move = self._held_move, None
            self._tell_move(*move)
