"""The interface of a mail store, which every backend (mbox, Maildir, others later) serves.

The server only needs `deliver`; keeping the store behind this small interface lets
another backend (a shared or remote store) take the place of the files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from .envelope import Envelope
from .naming import StoreFormat


class MessageSource(Protocol):
    """A message's data that can be read from the start, chunk by chunk (a `Spool`)."""

    def chunks(self, size: int = ...) -> Iterator[bytes]: ...


class MailStore(Protocol):
    """Keeps each recipient's mail in a mailbox named after them."""

    @property
    def path(self) -> Path:
        """The store's directory."""
        ...

    @property
    def format(self) -> StoreFormat:
        """How its mailboxes are laid out."""
        ...

    def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        """Store one copy of `message` for each distinct recipient of `envelope`.

        Blocks until every copy is written and flushed, and may be called from many
        threads at once. Raises `DeliveryError` when any copy fails, after removing the
        copies already written: a retry neither duplicates nor loses mail.
        """
        ...

    def deliver_batch(
        self, items: Sequence[tuple[Envelope, MessageSource]], *, settle: bool = True
    ) -> list[Exception | None]:
        """`deliver` each `(envelope, message)`; for each, in order, its error or None.

        The deliveries share their flushes; each one still succeeds or fails (and is
        rolled back) on its own, and a `DeliveryError` is returned, not raised. With
        `settle` False, what remains once every copy is flushed (the store's own
        bookkeeping, which may hold mailboxes locked) waits for `settle` or the next call.
        """
        ...

    def settle(self) -> None:
        """Finish what a `deliver_batch(..., settle=False)` left undone; soon after it."""
        ...

    def close(self) -> None:
        """Release the files the store keeps open."""
        ...
