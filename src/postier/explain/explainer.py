"""What `--explain` sets up once for a server: the language's texts, where the steps go,
and a number for each session told."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from postier.store.naming import StoreFormat, mailbox_paths

from .language import Language
from .narration import Sink
from .recorder import SessionRecorder, SessionRecords
from .server_narrator import ServerNarrator
from .texts import Texts
from .texts_en import ENGLISH
from .texts_fr import FRENCH

CATALOGUES: dict[Language, Texts] = {"fr": FRENCH, "en": ENGLISH}


class Explainer:
    """Makes each session's narrator: one that prints (`sink`, for `--explain`), one
    that records for the sessions view (`records`), or one that does both. `store` and
    `format` say where mail is kept."""

    def __init__(
        self,
        language: Language,
        sink: Sink | None,
        *,
        records: SessionRecords | None = None,
        store: Path,
        format: StoreFormat,
        line_limit: int,
        fsync: bool,
        unoffered: frozenset[str] = frozenset(),
    ) -> None:
        self.texts = CATALOGUES[language]
        self.sink = sink
        self.records = records
        self.mailbox_paths = functools.partial(mailbox_paths, store, format)
        """Each recipient's mailbox, where its intermediary keeps the message."""
        self.line_limit = line_limit
        self.fsync = fsync
        self.unoffered = unoffered
        """Verbs the core knows and this server does not offer (STARTTLS, AUTH)."""
        self._numbers = itertools.count(1)

    def narrator(self) -> ServerNarrator | SessionRecorder:
        printing = None
        if self.sink is not None:
            printing = ServerNarrator(
                next(self._numbers),
                self.texts,
                self.sink,
                line_limit=self.line_limit,
                fsync=self.fsync,
                unoffered=self.unoffered,
                mailbox_paths=self.mailbox_paths,
            )
        if self.records is None:
            assert printing is not None, "an Explainer prints, records, or both"
            return printing
        return SessionRecorder(self.records.new(), printing)
