"""What the mbox and Maildir stores share: checking a delivery and queueing it for a batch."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
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
        self._batcher: Batcher[R] = Batcher(self._run_next_batch, max_batch)
        self._closed = False
        # A batch's callers learn how it went before its journal record is cleared (and,
        # for mbox, its mailboxes unlocked): `_unsettled` does that, under `_exclusive`,
        # before the next batch or in `settle`.
        self._exclusive = threading.Lock()
        self._unsettled: Callable[[], None] | None = None

    def deliver(self, envelope: Envelope, message: MessageSource) -> None:
        """Store one copy for each distinct recipient; see `MailStore.deliver`."""
        error = self.deliver_batch([(envelope, message)])[0]
        if error is not None:
            raise error

    def deliver_batch(
        self, items: Sequence[tuple[Envelope, MessageSource]], *, settle: bool = True
    ) -> list[Exception | None]:
        """Store several messages, each as `deliver` would; for each, its error or None.

        The server's delivery thread hands over everything that arrived meanwhile in one
        call, so they share one batch (one journal record, one fsync per mailbox) without
        a thread per message. Each delivery still succeeds or fails on its own.

        Every copy reported stored is flushed when this returns. With `settle` False, the
        batch's bookkeeping (clearing its journal record, durably, and unlocking its
        mailboxes) is left for `settle` or the next batch, so that the caller can answer
        its clients first: a crash in between keeps the batch (see `journal`).
        """
        if self._closed:
            return [DeliveryError("the store is closed") for _ in items]
        results: list[Exception | None] = [None] * len(items)
        deliveries: list[Delivery] = []
        planned: list[int] = []
        planner = _Planner(self.path, self.format)
        for index, (envelope, message) in enumerate(items):
            try:
                deliveries.append(Delivery(envelope, message, planner.plan(envelope)))
            except DeliveryError as error:
                results[index] = error
            else:
                planned.append(index)
        requests: list[R] = []
        positions: list[int] = []
        for index, prepared in zip(planned, self._prepare_all(deliveries), strict=True):
            if isinstance(prepared, DeliveryError):
                results[index] = prepared
            else:
                requests.append(prepared)
                positions.append(index)
        outcomes = self._batcher.submit_all(requests)
        for index, outcome in zip(positions, outcomes, strict=True):
            results[index] = outcome
        if settle:
            self.settle()
        return results

    def settle(self) -> None:
        """Finish the bookkeeping of the last batch, if `deliver_batch` left it undone."""
        with self._exclusive:
            self._settle_locked()

    def _settle_locked(self) -> None:
        finish, self._unsettled = self._unsettled, None
        if finish is not None:
            try:
                finish()
            except Exception:
                # Its copies are flushed and its record complete: recovery keeps them.
                log.exception("cannot clear the journal after a batch; left to recovery")

    def _run_next_batch(self, requests: Sequence[R]) -> list[Exception | None]:
        with self._exclusive:
            if self._unsettled is not None and self._may_chain(requests):
                self._unsettled = None  # `_run_batch` takes the last batch's bookkeeping over
            else:
                self._settle_locked()
            return self._run_batch(requests)

    def _may_chain(self, requests: Sequence[R]) -> bool:
        """Whether the batch of `requests` may take over the unsettled bookkeeping of the
        last one: its own record then overwrites the last one's (no flush to clear it),
        and it keeps the locks it needs of the last batch's."""
        return False

    def _prepare_all(self, deliveries: Sequence[Delivery]) -> list[R | DeliveryError]:
        """`_prepare` each delivery; a store may do them together (flush files at once)."""
        prepared: list[R | DeliveryError] = []
        for delivery in deliveries:
            try:
                prepared.append(self._prepare(delivery))
            except DeliveryError as error:
                prepared.append(error)
        return prepared

    @abstractmethod
    def _prepare(self, delivery: Delivery) -> R:
        """The part of a delivery done in its caller's thread, concurrently with others;
        raises DeliveryError after cleaning up."""

    @abstractmethod
    def _run_batch(self, requests: Sequence[R]) -> list[Exception | None]:
        """Store a batch; for each request in order, its error or None. What is left to
        do once its callers know (clear the record, unlock) goes in `_unsettled`."""

    def close(self) -> None:
        """Release the files the store keeps open. Idempotent."""
        if not self._closed:
            self._closed = True
            self.settle()
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


class _Planner:
    """Plans the copies of a batch's deliveries; each mailbox's path is checked once a batch."""

    def __init__(self, store: Path, fmt: StoreFormat) -> None:
        self._store = store
        self._format = fmt
        self._entries: dict[str, str] = {}

    def plan(self, envelope: Envelope) -> list[Copy]:
        """Raises DeliveryError when a recipient has no valid mailbox."""
        try:
            return plan_copies(self._store, envelope, self._format, self._entries)
        except ValueError as error:
            log.error("%s: no mailbox for the recipients: %s", envelope.queue_id, error)
            raise DeliveryError(f"{envelope.queue_id}: no valid mailbox") from None
