"""Recent SMTP sessions kept in memory, for the sessions view of the page and its API:
each session as the calls its narrator would have had, with their times. Recording
formats nothing (a tuple appended a step); the words are made only when somebody
asks, by replaying the calls into a `ServerNarrator` in the language asked for.

Memory is bounded twice: `SessionRecords` keeps the last `kept` sessions, and each
record keeps its first `MAX_STEPS` steps (a long session's tail is counted, not kept)
and of a message's data no more than the narrator shows.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from postier.ends import EndReason
from postier.protocol.smtp import DataChunk, DataStarted, Observer, Reply, ServerEvent, State

from .narration import Narration
from .server_narrator import SHOWN_DATA_LINES, SHOWN_LINE_LENGTH, ServerNarrator
from .texts import Texts

MAX_STEPS: Final = 600
"""Steps kept of one session: its first thirty messages or so (each takes about
twenty); at most `kept * MAX_STEPS` small tuples in all."""
DEFAULT_KEPT: Final = 200
DATA_KEPT: Final = SHOWN_DATA_LINES * (SHOWN_LINE_LENGTH + 2) * 4
"""Bytes of a message's data kept for its narration: more than the narrator shows."""


Step = tuple[float, str, tuple[Any, ...]]
"""One call a narrator would have had: when, which, with what (a plain tuple: recording
runs on the path of every command, and a tuple is the cheapest thing to make)."""


@dataclass(slots=True)
class SessionRecord:
    """One SMTP session as it went (or goes on)."""

    id: str
    peer: str = ""
    started: float = field(default_factory=time.time)
    ended: float | None = None
    accepted: int = 0
    refused: int = 0
    queue_ids: list[str] = field(default_factory=list)
    """The messages it delivered, by queue id (what their `Received:` names)."""
    steps: list[Step] = field(default_factory=list)
    dropped: int = 0
    """Steps not kept, past `MAX_STEPS`."""
    line_limit: int = 512
    fsync: bool = True
    unoffered: frozenset[str] = frozenset()
    """What the server offered, for words that depend on it (as `Explainer` has them)."""
    mailbox_paths: Callable[[Sequence[str]], list[Path]] | None = None

    def narrated(self, texts: Texts) -> list[tuple[float, Narration]]:
        """The session in `texts`' words, each line with the time of its step."""
        told: list[tuple[float, Narration]] = []
        now = [self.started]  # the time of the step being replayed

        def sink(step: Narration) -> None:
            told.append((now[0], step))

        narrator = ServerNarrator(
            0, texts, sink, line_limit=self.line_limit, fsync=self.fsync,
            unoffered=self.unoffered, mailbox_paths=self.mailbox_paths,
        )  # fmt: skip
        for at, call, args in self.steps:
            now[0] = at
            getattr(narrator, call)(*args)
        return told


class Observed(Protocol):
    """A core with an onlooker (`ServerConnection`)."""

    observer: Observer | None


class SessionRecorder:
    """Records one session's steps (the same calls as a `ServerNarrator`'s), and hands
    each on to `forward` as well when one prints them (`--explain`)."""

    def __init__(self, record: SessionRecord, forward: ServerNarrator | None = None) -> None:
        self.record = record
        self.forward = forward
        self._data_kept = 0
        self._core: Observed | None = None

    def attach(self, core: Observed) -> None:
        """The core this records: once the record is full, it stops telling us each
        step (unless `--explain` prints them), so a long session costs nothing more."""
        self._core = core

    def _add(self, call: str, *args: Any) -> None:
        steps = self.record.steps
        if len(steps) < MAX_STEPS:
            steps.append((time.time(), call, args))
            return
        self.record.dropped += 1
        if self._core is not None and self.forward is None:
            self._core.observer = None
            self._core = None

    # --- the core's calls (`Observer`) ---------------------------------------------------

    def line(self, line: bytes | None, *, bare_lf: bool) -> None:
        self._add("line_ended", line, bare_lf)
        if self.forward is not None:
            self.forward.line(line, bare_lf=bare_lf)

    def secret(self) -> None:
        self._add("secret")
        if self.forward is not None:
            self.forward.secret()

    def moved(self, before: State, after: State) -> None:
        self._add("moved", before, after)
        if self.forward is not None:
            self.forward.moved(before, after)

    def replied(self, reply: Reply) -> None:
        self._add("replied", reply)
        if self.forward is not None:
            self.forward.replied(reply)

    # --- the session's calls -------------------------------------------------------------

    def event(self, event: ServerEvent) -> None:
        if self.forward is None and len(self.record.steps) >= MAX_STEPS:
            self.record.dropped += 1
            return
        if isinstance(event, DataStarted):
            self._data_kept = 0
        if isinstance(event, DataChunk):
            self._data(event)
        else:
            self._add("event", event)
        if self.forward is not None:
            self.forward.event(event)

    def _data(self, event: DataChunk) -> None:
        """Of a message's data, only what its narration can show is kept; the rest is
        kept as its count of lines, which the narration gives."""
        room = DATA_KEPT - self._data_kept
        data = event.data
        if room >= len(data):
            self._data_kept += len(data)
            self._add("event", event)
            return
        if room > 0:
            self._data_kept = DATA_KEPT
            self._add("event", DataChunk(data[:room]))
            data = data[room:]
        if data.count(b"\n"):
            self._add("more_data_lines", data.count(b"\n"))

    def accepted(self, peer: str, port: int | None, count: int) -> None:
        self.record.peer = peer
        self._add("accepted", peer, port, count)
        if self.forward is not None:
            self.forward.accepted(peer, port, count)

    def refused(self, peer: str, reason: str) -> None:
        self.record.peer = peer
        self._add("refused", peer, reason)
        if self.forward is not None:
            self.forward.refused(peer, reason)

    def tls_up(self, info: str | None) -> None:
        self._add("tls_up", info)
        if self.forward is not None:
            self.forward.tls_up(info)

    def stored(self, recipients: Sequence[str], size: int, queue_id: str = "") -> None:
        self.record.accepted += 1
        if queue_id:
            self.record.queue_ids.append(queue_id)
        self._add("stored", recipients, size, queue_id)
        if self.forward is not None:
            self.forward.stored(recipients, size, queue_id)

    def chaos(self, trigger: str) -> None:
        self._add("chaos", trigger)
        if self.forward is not None:
            self.forward.chaos(trigger)

    def not_stored(self) -> None:
        self.record.refused += 1
        self._add("not_stored")
        if self.forward is not None:
            self.forward.not_stored()

    def ended(self, reason: EndReason) -> None:
        self.record.ended = time.time()
        self._add("ended", reason)
        if self.forward is not None:
            self.forward.ended(reason)


class SessionRecords:
    """The last `kept` sessions of this process, newest last, findable by ID."""

    def __init__(
        self,
        kept: int = DEFAULT_KEPT,
        *,
        line_limit: int = 512,
        fsync: bool = True,
        unoffered: frozenset[str] = frozenset(),
        mailbox_paths: Callable[[Sequence[str]], list[Path]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kept = kept
        self.mailbox_paths = mailbox_paths
        self.clock = clock
        self.line_limit = line_limit
        self.fsync = fsync
        self.unoffered = unoffered
        self._records: OrderedDict[str, SessionRecord] = OrderedDict()
        self._numbers = itertools.count(1)

    def new(self) -> SessionRecord:
        record = SessionRecord(
            f"s{next(self._numbers)}", started=self.clock(), line_limit=self.line_limit,
            fsync=self.fsync, unoffered=self.unoffered, mailbox_paths=self.mailbox_paths,
        )  # fmt: skip
        self._records[record.id] = record
        while len(self._records) > self.kept:
            self._records.popitem(last=False)
        return record

    def __iter__(self) -> Iterator[SessionRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)

    def get(self, session_id: str) -> SessionRecord | None:
        return self._records.get(session_id)

    def delivered(self, queue_id: str) -> SessionRecord | None:
        """The session that delivered the message with that queue id, if still kept."""
        for record in reversed(self._records.values()):
            if queue_id in record.queue_ids:
                return record
        return None
