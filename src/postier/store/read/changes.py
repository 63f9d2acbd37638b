"""What changed in the store, and who hears of it.

Every change the read side makes (a message marked, deleted) or finds (new mail filed by
a server, a file another tool removed) is announced as a `Change` to the subscribers of
the `Reader` that made or found it: `watch`, the web page's live updates and POP3 listen
here. A reader in another process finds the same changes on its next look at the files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("postier.store")

ChangeKind = Literal["new", "changed", "tagged", "deleted"]


@dataclass(frozen=True, slots=True)
class Change:
    """Messages of one mailbox that arrived, changed (read state), were tagged (their
    tags set, renamed or taken off) or went away."""

    kind: ChangeKind
    mailbox: str
    """The mailbox's address."""
    ids: tuple[str, ...]


Listener = Callable[[Change], None]


class Subscribers:
    """The listeners of one reader; each is called on the thread that found the change."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with each change from now on; returns the way to stop."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, changes: Iterable[Change]) -> None:
        """Tell every listener; one that fails is logged and the others still hear."""
        with self._lock:
            listeners = list(self._listeners)
        for change in changes:
            if not change.ids:
                continue
            for listener in listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("a listener of the store's changes failed")


def grouped(kind: ChangeKind, pairs: Iterable[tuple[str, str]]) -> list[Change]:
    """Changes of one kind from `(mailbox, id)` pairs, one per mailbox, in order met."""
    by_mailbox: dict[str, list[str]] = {}
    for mailbox, id_ in pairs:
        by_mailbox.setdefault(mailbox, []).append(id_)
    return [Change(kind, mailbox, tuple(ids)) for mailbox, ids in by_mailbox.items()]
