"""The mbox store: one file per recipient, `<store>/<name>.mbox`, appended under lock.

One batch of deliveries (see `batching`) runs as one transaction:

1. lock the union of its mailboxes, in sorted order (no deadlock between batches);
2. lay the batch out in memory when it is small (`RENDER_LIMIT`), then write the
   journal's record with each mailbox's size, and its size after the batch when known,
   durably (`journal`);
3. append each delivery in turn; a delivery that fails is cut off again at once and the
   others go on;
4. fsync each mailbox written, once, together with the journal when the record needs a
   completion (the sizes after were not known, or a delivery was cut off);
5. tell each caller how its delivery went;
6. clear the record, durably, and unlock (`settle`). The next batch on the same
   mailboxes does it for free, writing its own record in its place, for at most
   `CHAIN_SECONDS` before the locks are let go.

Two flushes stand between a message and its 250 (the record, then the mailboxes). The
locks are held from step 2 to step 6, so nobody appends behind an unfinished
transaction, which a rollback would otherwise cut off; a crash after step 4 keeps the
batch. If step 4 fails, every mailbox goes back to the size in the journal and the whole
batch fails.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar, Final, NamedTuple

from . import fileio
from .base import BatchedStore, Delivery
from .batching import DEFAULT_MAX_BATCH
from .copies import render_copy
from .errors import StoreError
from .flush import ParallelFlusher
from .journal import Transaction
from .journal_record import JournalEntries
from .mbox_file import OpenMailbox, release_all
from .naming import StoreFormat
from .recovery import DEFAULT_LOCK_TIMEOUT, recover_journals
from .spool import Spool

log = logging.getLogger(__name__)

DEFAULT_OPEN_FILES: Final = 64
RENDER_LIMIT: Final = 1 << 20
"""A batch of at most this many bytes is laid out in memory before it is written, so that
its record can say where it ends and needs no completion (one flush fewer)."""
_REOPEN_ATTEMPTS: Final = 3
CHAIN_SECONDS: Final = 0.02
"""How long batches may follow each other on the same mailboxes without letting their
locks go (each clearing the last one's record as it writes its own): readers and other
servers get their turn at least this often."""


class _BatchAbortedError(Exception):
    """The batch cannot be finished; every delivery in it fails."""


class _Carried(NamedTuple):
    """A batch whose callers were answered, its record not yet cleared nor its locks let go."""

    held: dict[str, OpenMailbox]
    transaction: Transaction
    since: float
    """When the chain of batches holding these locks began (`time.monotonic`)."""


class MboxStore(BatchedStore[Delivery]):
    """Mailboxes as mbox files (mboxrd quoting, LF line endings), appended under lock."""

    format: ClassVar[StoreFormat] = "mbox"

    def __init__(
        self,
        store_dir: Path | str,
        *,
        fsync: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        open_files: int = DEFAULT_OPEN_FILES,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        super().__init__(store_dir, fsync=fsync, max_batch=max_batch)
        self._lock_timeout = lock_timeout
        self._open_files = open_files
        # Only the batch leader touches the open files, one batch at a time.
        self._files: OrderedDict[str, OpenMailbox] = OrderedDict()
        self._flusher = ParallelFlusher()
        self._carried: _Carried | None = None

    # -- one batch -------------------------------------------------------------------

    def _prepare(self, delivery: Delivery) -> Delivery:
        return delivery  # appends need the lock: all the work is in the batch

    def _may_chain(self, deliveries: Sequence[Delivery]) -> bool:
        carried = self._carried
        return (
            carried is not None
            and time.monotonic() - carried.since < CHAIN_SECONDS
            and all(copy.entry in carried.held for d in deliveries for copy in d.copies)
        )

    def _run_batch(self, deliveries: Sequence[Delivery]) -> list[Exception | None]:
        errors: list[Exception | None] = [None] * len(deliveries)
        carried, self._carried = self._carried, None
        held: dict[str, OpenMailbox] = {}
        try:
            # A chain keeps its locks all along: nobody appended meanwhile.
            held = carried.held if carried is not None else self._lock_batch(deliveries, errors)
            if held:
                transaction = self._write_batch(deliveries, errors, held, carried)
                since = time.monotonic() if carried is None else carried.since
                self._carried = _Carried(held, transaction, since)
                self._unsettled = self._settle_carried
                held = {}  # the next batch's, or `_settle_carried`'s, to release
        except _BatchAbortedError:
            errors = [delivery.failure() for delivery in deliveries]
        finally:
            if held:
                release_all(held)
                self._trim_open_files()
        return errors

    def _settle_carried(self) -> None:
        """Clear the record of the last batch, whose callers know how it went, then unlock."""
        carried, self._carried = self._carried, None
        if carried is not None:
            try:
                carried.transaction.commit()
            finally:
                release_all(carried.held)
                self._trim_open_files()

    def _lock_batch(
        self, deliveries: Sequence[Delivery], errors: list[Exception | None]
    ) -> dict[str, OpenMailbox]:
        """Lock every mailbox of the batch; a delivery whose mailbox cannot be locked fails."""
        entries = sorted({copy.entry for delivery in deliveries for copy in delivery.copies})
        held = self._lock_entries(entries, errors, deliveries)
        # A dead transaction may have left data at the end of one of our mailboxes;
        # appending behind it would be lost when it is rolled back, so roll it back first.
        if held and self._journal.orphans_touching(set(held)):
            release_all(held)
            try:
                recover_journals(self.path, fsync=self._fsync, lock_timeout=self._lock_timeout)
            except (OSError, StoreError) as error:
                log.error("cannot roll back a dead transaction: %s", error)
                raise _BatchAbortedError from None
            held = self._lock_entries(entries, errors, deliveries)
            if held and self._journal.orphans_touching(set(held)):
                release_all(held)
                log.error("a dead transaction could not be rolled back")
                raise _BatchAbortedError
        return held

    def _lock_entries(
        self, entries: list[str], errors: list[Exception | None], deliveries: Sequence[Delivery]
    ) -> dict[str, OpenMailbox]:
        deadline = time.monotonic() + self._lock_timeout
        held: dict[str, OpenMailbox] = {}
        for entry in entries:
            try:
                held[entry] = self._lock_one(entry, deadline)
            except (OSError, StoreError) as error:
                log.error("mailbox %s: cannot lock: %s", entry, error)
                for index, delivery in enumerate(deliveries):
                    if errors[index] is None and any(c.entry == entry for c in delivery.copies):
                        errors[index] = delivery.failure()
        # A delivery fails as a whole: drop mailboxes only failed deliveries needed.
        wanted = {
            copy.entry
            for index, delivery in enumerate(deliveries)
            if errors[index] is None
            for copy in delivery.copies
        }
        for entry in [entry for entry in held if entry not in wanted]:
            held.pop(entry).lock.release()
        return held

    def _lock_one(self, entry: str, deadline: float) -> OpenMailbox:
        for _ in range(_REOPEN_ATTEMPTS):
            mailbox = self._open(entry)
            mailbox.lock.acquire(deadline)
            try:
                current = mailbox.is_current()
            except BaseException:
                mailbox.lock.release()
                raise
            if current:
                return mailbox
            # Locked a file that is no longer the mailbox: let it go and open the new one.
            del self._files[entry]
            mailbox.lock.release(close_fd=True)
        raise StoreError(f"{entry} keeps being replaced")

    def _open(self, entry: str) -> OpenMailbox:
        mailbox = self._files.get(entry)
        if mailbox is None:
            mailbox = OpenMailbox(os.path.join(self.path, entry))
            self._files[entry] = mailbox
        self._files.move_to_end(entry)
        return mailbox

    def _trim_open_files(self) -> None:
        """Close the least recently used files beyond the limit, skipping locked ones."""
        excess = len(self._files) - self._open_files
        for entry in list(self._files)[: max(0, excess)]:
            if self._files[entry].lock.try_close():
                del self._files[entry]

    def _write_batch(
        self,
        deliveries: Sequence[Delivery],
        errors: list[Exception | None],
        held: dict[str, OpenMailbox],
        carried: _Carried | None,
    ) -> Transaction:
        """Steps 2 to 4 (see the module's docstring); the transaction, to be cleared. The
        record takes the place of `carried`'s, whose batch is complete."""
        sizes = {entry: os.fstat(mailbox.fd).st_size for entry, mailbox in held.items()}
        rendered = self._render_small(deliveries, errors)
        expected = None if rendered is None else _ends_after(sizes, deliveries, errors, rendered)
        if carried is not None:
            carried.transaction.hand_over()
        try:
            transaction = self._journal.begin(JournalEntries(mbox_sizes=sizes, mbox_ends=expected))
        except OSError as error:
            log.error("cannot write the journal: %s", error)
            raise _BatchAbortedError from None
        ends = dict(sizes)
        written: set[str] = set()
        try:
            for index, delivery in enumerate(deliveries):
                if errors[index] is None:
                    copies = None if rendered is None else rendered[index]
                    errors[index] = self._append(delivery, held, ends, copies)
                    if errors[index] is None:
                        written.update(copy.entry for copy in delivery.copies)
            journal = None
            if ends != expected:
                transaction.complete(ends)  # flushed with the mailboxes
                journal = transaction.fd
            if self._fsync:
                self._flush(held, written, journal)
        except (OSError, _BatchAbortedError) as error:
            log.error("batch of %d deliveries aborted: %s", len(deliveries), error)
            self._abort(held, sizes, transaction)
            raise _BatchAbortedError from None
        return transaction

    def _render_small(
        self, deliveries: Sequence[Delivery], errors: list[Exception | None]
    ) -> list[list[bytes]] | None:
        """Each delivery's copies laid out in memory, when the whole batch fits in
        `RENDER_LIMIT` bytes; None otherwise. A delivery whose message cannot be read
        fails here, before anything is written."""
        rendered: list[list[bytes]] = []
        total = 0
        for index, delivery in enumerate(deliveries):
            message = delivery.message
            if isinstance(message, Spool) and message.size * len(delivery.copies) > RENDER_LIMIT:
                return None
            copies: list[bytes] = []
            if errors[index] is None:
                try:
                    for copy in delivery.copies:
                        pieces = render_copy(
                            delivery.envelope, copy.recipient, message, self.format
                        )
                        copies.append(b"".join(pieces))
                        total += len(copies[-1])
                except Exception as error:  # a failure to read the message
                    log.error("%s: delivery failed: %s", delivery.envelope.queue_id, error)
                    errors[index] = delivery.failure()
                    copies = []
                if total > RENDER_LIMIT:
                    return None
            rendered.append(copies)
        return rendered

    def _flush(self, held: dict[str, OpenMailbox], written: set[str], journal: int | None) -> None:
        """fsync every mailbox written, the journal when it has a completion to flush,
        and the store directory when a mailbox is new (its name is only durable then),
        all at once."""
        fds = [held[entry].fd for entry in sorted(written)]
        if journal is not None:
            fds.append(journal)
        new = [mailbox for mailbox in held.values() if mailbox.created]
        directory = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if new else None
        try:
            errors = self._flusher.fsync_all(fds if directory is None else [*fds, directory])
        finally:
            if directory is not None:
                os.close(directory)
        for error in errors:
            if error is not None:
                raise error
        for mailbox in new:
            mailbox.created = False

    def _append(
        self,
        delivery: Delivery,
        held: dict[str, OpenMailbox],
        ends: dict[str, int],
        rendered: list[bytes] | None,
    ) -> Exception | None:
        """Append one delivery's copies (`rendered` already, or read from the message now);
        on failure cut them off again and return the error."""
        before = {copy.entry: ends[copy.entry] for copy in delivery.copies}
        envelope = delivery.envelope
        try:
            for number, copy in enumerate(delivery.copies):
                fd = held[copy.entry].fd
                if rendered is not None:
                    pieces: Iterable[bytes] = (rendered[number],)
                else:
                    pieces = render_copy(envelope, copy.recipient, delivery.message, self.format)
                ends[copy.entry] += fileio.write_chunks(fd, pieces)
        except Exception as error:  # a failure to read the message or to write the copy
            log.error("%s: delivery failed: %s", envelope.queue_id, error)
            try:
                for entry, size in before.items():
                    os.ftruncate(held[entry].fd, size)
                    ends[entry] = size
            except OSError as truncate_error:
                log.error("%s: cannot cut a failed copy off: %s", envelope.queue_id, truncate_error)
                raise _BatchAbortedError from None
            return delivery.failure()
        return None

    def _abort(
        self, held: dict[str, OpenMailbox], sizes: dict[str, int], transaction: Transaction
    ) -> None:
        """Put every mailbox back to its size in the journal, then drop the journal."""
        try:
            for entry, mailbox in held.items():
                os.ftruncate(mailbox.fd, sizes[entry])
                if self._fsync:
                    os.fsync(mailbox.fd)
            transaction.commit()
        except OSError as error:
            # The journal stays; the next batch or start-up rolls it back.
            log.error("rollback failed, left to recovery: %s", error)
            transaction.abandon()

    # -- life cycle ------------------------------------------------------------------

    def close(self) -> None:
        """Close the open mailbox files and the journal directory."""
        self.settle()  # unlocks the last batch's mailboxes, so that their files close
        for mailbox in self._files.values():
            mailbox.lock.try_close()
        self._files.clear()
        self._flusher.close()
        super().close()


def _ends_after(
    sizes: dict[str, int],
    deliveries: Sequence[Delivery],
    errors: list[Exception | None],
    rendered: list[list[bytes]],
) -> dict[str, int]:
    """Each mailbox's size once every delivery not failed yet is appended."""
    ends = dict(sizes)
    for delivery, error, copies in zip(deliveries, errors, rendered, strict=True):
        if error is None:
            for copy, data in zip(delivery.copies, copies, strict=True):
                ends[copy.entry] += len(data)
    return ends
