"""What the mbox and Maildir stores share: checking a delivery and queueing it for a batch."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

from . import fileio
from .batching import Batcher
from .copies import Copy, plan_copies
from .envelope import Envelope
from .errors import DeliveryError
from .interface import MessageSource
from .journal import Journal
from .naming import StoreFormat

log = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One `deliver` call, waiting for its batch."""

    envelope: Envelope
    message: MessageSource
    copies: list[Copy]

    def failure(self) -> DeliveryError:
        """The error its caller gets: short, and safe to log or show."""
        return DeliveryError(f"{self.envelope.queue_id}: not stored")


class BatchedStore(ABC, Generic[R]):
    """A store whose deliveries run in batches (group commit) under one journal each.

    `R` is what a delivery becomes once the caller's thread has done its share of the
    work (`_prepare`) and it joins a batch (`_run_batch`).
    """

    format: ClassVar[StoreFormat]

    def __init__(self, store_dir: Path | str, *, fsync: bool, max_batch: int) -> None:
        store = Path(store_dir)
        fileio.make_private_dir(store, fsync=fsync)
        self.path = store.resolve()
        self._fsync = fsync
        self._journal = Journal(self.path, fsync=fsync)
        self._batcher: Batcher[R] = Batcher(self._run_batch, max_batch)
        self._closed = False

    def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        """Store one copy for each distinct recipient; see `MailStore.deliver`."""
        if self._closed:
            raise DeliveryError("the store is closed")
        try:
            copies = plan_copies(self.path, envelope, self.format)
        except ValueError as error:
            log.error("%s: no mailbox for the recipients: %s", envelope.queue_id, error)
            raise DeliveryError(f"{envelope.queue_id}: no valid mailbox") from None
        self._batcher.submit(self._prepare(Delivery(envelope, message, copies)))

    @abstractmethod
    def _prepare(self, delivery: Delivery) -> R:
        """The part of a delivery done in its caller's thread, concurrently with others;
        raises DeliveryError after cleaning up."""

    @abstractmethod
    def _run_batch(self, requests: Sequence[R]) -> list[Exception | None]:
        """Store a batch; for each request in order, its error or None."""

    def close(self) -> None:
        """Release the files the store keeps open. Idempotent."""
        if not self._closed:
            self._closed = True
            self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
