"""What a session asks of the narration (`postier.explain`), without knowing it: the
session tells each step to a `SessionNarrator`, which a `Narrators` makes for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from postier.ends import EndReason
from postier.protocol.smtp import Observer, ServerConnection, ServerEvent


class SessionNarrator(Observer, Protocol):
    """The core's onlooker, told also what the session does around the core."""

    def attach(self, core: ServerConnection) -> None: ...

    def accepted(self, peer: str, port: int | None, count: int) -> None: ...

    def refused(self, peer: str, reason: str) -> None: ...

    def tls_up(self, info: str | None) -> None: ...

    def event(self, event: ServerEvent) -> None: ...

    def stored(self, recipients: Sequence[str], size: int, queue_id: str = "") -> None: ...

    def not_stored(self) -> None: ...

    def chaos(self, trigger: str) -> None: ...

    def ended(self, reason: EndReason) -> None: ...


class Narrators(Protocol):
    """Makes one narrator a session (`--explain`, the sessions kept for the page)."""

    def narrator(self) -> SessionNarrator: ...
