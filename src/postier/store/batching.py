"""Group commit: concurrent deliveries share one batch, so one fsync serves them all.

The one place deliveries are grouped, and the one batch limit: the stores batch the
`deliver` calls of many threads with it, and the server's delivery queue (one thread
that hands over everything its sessions finished) forms its batches with it too.

Each caller queues its request and waits. A caller that finds no batch running becomes
the leader: it takes what is queued, runs it as one batch, hands the lead to the oldest
request queued meanwhile (if any), wakes every caller of its batch and returns. While a
batch is being flushed the next one fills up, so the busier the store, the larger its
batches, and no caller waits behind more than the batch before its own.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Final, Generic, TypeVar

from .errors import DeliveryError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_BATCH: Final = 256
"""Deliveries stored together at most; bounds how long the first one waits for the last."""

BatchRunner = Callable[[Sequence[T]], Sequence[Exception | None]]
"""Runs a batch; returns, for each request in order, its error or None."""
BatchDone = Callable[[Sequence[T], Sequence[Exception | None]], None]
"""Told of each batch once it ran: its requests and, for each, its error or None."""


class _State(enum.Enum):
    WAITING = enum.auto()
    LEADING = enum.auto()
    DONE = enum.auto()


class _Waiter(Generic[T]):
    __slots__ = ("error", "event", "request", "state")

    def __init__(self, request: T) -> None:
        self.request = request
        # Only a caller that waits needs an event; a leader (the only caller, when
        # deliveries do not overlap) is spared making one.
        self.event: threading.Event | None = None
        self.state = _State.WAITING
        self.error: Exception | None = None


class Batcher(Generic[T]):
    """Runs requests submitted from many threads in batches, one batch at a time."""

    def __init__(
        self,
        run: BatchRunner[T],
        max_batch: int = DEFAULT_MAX_BATCH,
        *,
        done: BatchDone[T] | None = None,
    ) -> None:
        """`done`, when given, hears of each batch as soon as it ran, before the next one
        starts: a caller with many requests (the server's queue) answers each batch's
        clients then, not once all of its requests are through."""
        self._run = run
        self._max_batch = max_batch
        self._done = done
        self._lock = threading.Lock()
        self._queue: list[_Waiter[T]] = []
        self._busy = False

    def submit(self, request: T) -> None:
        """Run `request` in some batch; return when its batch is done, raise its error."""
        error = self.submit_all([request])[0]
        if error is not None:
            raise error

    def submit_all(self, requests: Sequence[T]) -> list[Exception | None]:
        """Run `requests` in some batches, in order; return, for each, its error or None.

        One thread with many requests at hand (the server's delivery thread) hands them
        over in one call: if no batch is running, they form the next one at once.
        """
        waiters = [_Waiter(request) for request in requests]
        if not waiters:
            return []
        with self._lock:
            if not self._busy:
                self._busy = True
                waiters[0].state = _State.LEADING
            self._queue.extend(waiters)
        for waiter in waiters:
            with self._lock:
                # Only a request still waiting needs an event; most of a caller's own
                # requests are in the batch it leads, and are done by now.
                if waiter.state is _State.WAITING:
                    waiter.event = threading.Event()
            if waiter.event is not None:
                waiter.event.wait()
            if waiter.state is _State.LEADING:
                # The oldest queued request is ours, so it is in the batch we lead.
                self._lead()
        return [waiter.error for waiter in waiters]

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        errors, interrupt = self._run_batch(batch)
        self._tell_done(batch, errors)
        with self._lock:
            if self._queue:
                self._wake(self._queue[0], _State.LEADING, None)
            else:
                self._busy = False
            for waiter, error in zip(batch, errors, strict=True):
                self._wake(waiter, _State.DONE, error)
        if interrupt is not None:
            raise interrupt

    def _run_batch(
        self, batch: list[_Waiter[T]]
    ) -> tuple[Sequence[Exception | None], BaseException | None]:
        """The batch's errors, and an interrupt (KeyboardInterrupt...) to pass on after."""
        try:
            errors = self._run([waiter.request for waiter in batch])
        except Exception:
            log.exception("a batch of %d deliveries failed", len(batch))
        except BaseException as interrupt:
            return [DeliveryError("delivery interrupted") for _ in batch], interrupt
        else:
            if len(errors) == len(batch):
                return errors, None
            log.error("a batch runner returned %d results for %d", len(errors), len(batch))
        return [DeliveryError("internal store error") for _ in batch], None

    def _tell_done(self, batch: list[_Waiter[T]], errors: Sequence[Exception | None]) -> None:
        if self._done is None:
            return
        try:
            self._done([waiter.request for waiter in batch], errors)
        except Exception:
            # The lead must still pass on, or every caller queued would wait for ever.
            log.exception("telling of a batch of %d deliveries failed", len(batch))

    @staticmethod
    def _wake(waiter: _Waiter[T], state: _State, error: Exception | None) -> None:
        """Under the lock: a waiter makes its event under the same lock, so none is missed."""
        waiter.error = error
        waiter.state = state
        if waiter.event is not None:
            waiter.event.set()
