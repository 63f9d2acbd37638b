"""What `--explain` sets up once for a server: the language's texts, where the steps go,
and a number for each session told."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from postier.store.naming import StoreFormat, mailbox_path

from .language import Language
from .narration import Sink
from .server_narrator import ServerNarrator
from .texts import Texts
from .texts_en import ENGLISH
from .texts_fr import FRENCH

CATALOGUES: dict[Language, Texts] = {"fr": FRENCH, "en": ENGLISH}


class Explainer:
    """Makes each session's narrator; `store` and `format` say where mail is kept."""

    def __init__(
        self,
        language: Language,
        sink: Sink,
        *,
        store: Path,
        format: StoreFormat,
        line_limit: int,
        fsync: bool,
        unoffered: frozenset[str] = frozenset(),
    ) -> None:
        self.texts = CATALOGUES[language]
        self.sink = sink
        self.store = store
        self.format: StoreFormat = format
        self.line_limit = line_limit
        self.fsync = fsync
        self.unoffered = unoffered
        """Verbs the core knows and this server does not offer (STARTTLS, AUTH)."""
        self._numbers = itertools.count(1)

    def narrator(self) -> ServerNarrator:
        return ServerNarrator(
            next(self._numbers),
            self.texts,
            self.sink,
            line_limit=self.line_limit,
            fsync=self.fsync,
            unoffered=self.unoffered,
        )

    def mailbox_paths(self, recipients: Sequence[str]) -> list[Path]:
        """Each recipient's mailbox, where its intermediary keeps the message."""
        return [mailbox_path(self.store, recipient, self.format) for recipient in recipients]
