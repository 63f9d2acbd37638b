"""The Maildir store: a directory per recipient, `<store>/<name>/{tmp,new,cur}`, a file per message.

Each copy is written in `tmp/` under a unique name, fsync'd, then renamed into `new/`:
a reader never sees half a message, and no lock is needed (the classic scheme of
https://cr.yp.to/proto/maildir.html, safe on shared file systems). The caller's thread
writes its files in `tmp/`, concurrently with other callers, and leaves them open. The
batch (see `batching`) writes its journal record listing every copy, fsyncs the record
and all the copies from a few threads at once (`flush`: one commit of the file system
serves them all), renames the copies into `new/` and fsyncs each `new/` directory once:
two flushes before the callers hear of success, and the record is cleared after. A file
left in `tmp/` by a crash is not a message, and is removed after 36 hours as the
convention says.

Content: the trace headers and the message with LF line endings, no `From ` line and
no quoting.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Final

from . import fileio
from .base import BatchedStore, Delivery
from .batching import DEFAULT_MAX_BATCH
from .copies import Copy, render_copy
from .errors import DeliveryError
from .flush import ParallelFlusher
from .journal import Transaction
from .journal_record import JournalEntries
from .maildir_layout import NEW, SUBDIRS, TMP
from .naming import StoreFormat

log = logging.getLogger(__name__)

FLUSH_GROUP: Final = 64
"""Copies written before they are flushed together; bounds the files open at once."""
_CREATE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_counter = itertools.count()


def _host_name() -> str:
    """This host's name as the Maildir convention writes it: `/` and `:` as octal escapes."""
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


def unique_name(host: str, received: datetime | None = None) -> str:
    """A file name no other delivery uses: `<sec>.M<usec>P<pid>Q<n>R<random>.<host>`.

    Its time is when the message was received (the envelope's, as in an mbox's `From `
    line), so that both formats tell the same date; the pid, counter and random part
    keep it unique whatever that time is.
    """
    if received is None:
        seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    else:
        seconds, micros = divmod(round(received.timestamp() * 1_000_000), 1_000_000)
    return f"{seconds}.M{micros}P{os.getpid()}Q{next(_counter)}R{secrets.token_hex(8)}.{host}"


@dataclass(frozen=True, slots=True)
class _Staged:
    """A delivery whose copies are all written in `tmp/`."""

    delivery: Delivery
    files: list[tuple[str, str]]
    """Each copy's Maildir (its entry in the store) and unique file name."""
    fds: tuple[int, ...] = ()
    """Its copies still open and not flushed yet: the batch flushes them with its record."""


class MaildirStore(BatchedStore[_Staged]):
    """Mailboxes as Maildirs; each copy is written in `tmp/` and renamed into `new/`."""

    format: ClassVar[StoreFormat] = "maildir"

    def __init__(
        self, store_dir: Path | str, *, fsync: bool = True, max_batch: int = DEFAULT_MAX_BATCH
    ) -> None:
        super().__init__(store_dir, fsync=fsync, max_batch=max_batch)
        self._host = _host_name()
        self._ready: set[str] = set()
        """Maildirs known to have their three subdirectories."""
        self._flusher = ParallelFlusher()
        self._last: Transaction | None = None
        """The last batch's transaction while it is not settled."""

    def _path(self, entry: str, sub: str, unique: str) -> Path:
        return self.path / entry / sub / unique

    # -- in the caller's thread --------------------------------------------------------

    def _prepare(self, delivery: Delivery) -> _Staged:
        """Write every copy in `tmp/`; left open to be flushed by the batch when we sync."""
        return self._stage(delivery, keep_open=self._fsync)

    def _prepare_all(self, deliveries: Sequence[Delivery]) -> list[_Staged | DeliveryError]:
        """Write the copies of many deliveries in `tmp/`; past `FLUSH_GROUP` copies open,
        flush and close those written so far (the batch flushes the rest)."""
        prepared: list[_Staged | DeliveryError] = []
        still_open = 0
        for delivery in deliveries:
            try:
                staged = self._prepare(delivery)
            except DeliveryError as error:
                prepared.append(error)
                continue
            prepared.append(staged)
            still_open += len(staged.fds)
            if still_open >= FLUSH_GROUP:
                self._flush_early(prepared)
                still_open = 0
        return prepared

    def _flush_early(self, prepared: list[_Staged | DeliveryError]) -> None:
        """Flush and close, in place, the copies still open in `prepared`."""
        opened = [
            (i, item) for i, item in enumerate(prepared) if isinstance(item, _Staged) and item.fds
        ]
        flushed, _ = self._flush_open([staged for _, staged in opened])
        for (position, staged), ok in zip(opened, flushed, strict=True):
            prepared[position] = replace(staged, fds=()) if ok else staged.delivery.failure()

    def _flush_open(
        self, staged: Sequence[_Staged], extra: Sequence[int] = ()
    ) -> tuple[list[bool], list[OSError | None]]:
        """fsync the open copies of `staged` and the `extra` files together, then close the
        copies. For each delivery, whether all its copies are flushed (a delivery that
        failed has had its files removed, and fails alone); and the errors of `extra`."""
        fds = [fd for item in staged for fd in item.fds]
        try:
            errors = self._flusher.fsync_all([*fds, *extra])
        finally:
            for fd in fds:
                os.close(fd)
        flushed: list[bool] = []
        position = 0
        for item in staged:
            failures = [error for error in errors[position : position + len(item.fds)] if error]
            position += len(item.fds)
            if failures:
                log.error("%s: delivery failed: %s", item.delivery.envelope.queue_id, failures[0])
                _remove([self._path(entry, TMP, unique) for entry, unique in item.files])
            flushed.append(not failures)
        return flushed, errors[len(fds) :]

    def _stage(self, delivery: Delivery, *, keep_open: bool) -> _Staged:
        """Write every copy in `tmp/`, left open when `keep_open`, else closed. Raises
        DeliveryError after cleaning up."""
        files: list[tuple[str, str]] = []
        fds: list[int] = []
        try:
            for copy in delivery.copies:
                unique = unique_name(self._host, delivery.envelope.received_at)
                fd = self._write_tmp(delivery, copy, unique)
                files.append((copy.entry, unique))
                if keep_open:
                    fds.append(fd)
                else:
                    os.close(fd)
        except Exception as error:  # a failure to read the message or to write the copy
            log.error("%s: delivery failed: %s", delivery.envelope.queue_id, error)
            for fd in fds:
                os.close(fd)
            self._ready.difference_update(copy.entry for copy in delivery.copies)
            _remove([self._path(entry, TMP, unique) for entry, unique in files])
            raise delivery.failure() from None
        return _Staged(delivery, files, tuple(fds))

    def _write_tmp(self, delivery: Delivery, copy: Copy, unique: str) -> int:
        """Write one copy in `tmp/`; its descriptor, open."""
        self._ensure_maildir(copy.entry)
        path = self._path(copy.entry, TMP, unique)
        fd = os.open(path, _CREATE_FLAGS, fileio.FILE_MODE)
        try:
            pieces = render_copy(delivery.envelope, copy.recipient, delivery.message, self.format)
            fileio.write_chunks(fd, pieces)
        except BaseException:
            os.close(fd)
            _remove([path])
            raise
        return fd

    def _ensure_maildir(self, entry: str) -> None:
        if entry not in self._ready:
            for sub in SUBDIRS:
                # A new Maildir must survive a crash with the first message moved into it.
                fileio.make_private_dir(self.path / entry / sub, fsync=self._fsync)
            self._ready.add(entry)

    # -- in the batch ------------------------------------------------------------------

    def _may_chain(self, requests: Sequence[_Staged]) -> bool:
        return self._last is not None

    def _run_batch(self, requests: Sequence[_Staged]) -> list[Exception | None]:
        listed = tuple(f"{entry}/{unique}" for staged in requests for entry, unique in staged.files)
        last, self._last = self._last, None
        if last is not None:
            last.hand_over()  # complete: the record written next takes its place
        try:
            # Flushed below with the copies: nothing is renamed before both are durable.
            transaction = self._journal.begin(JournalEntries(maildir_files=listed), sync=False)
        except OSError as error:
            log.error("cannot write the journal: %s", error)
            for staged in requests:
                for fd in staged.fds:
                    os.close(fd)
                _remove([self._path(entry, TMP, unique) for entry, unique in staged.files])
            return [staged.delivery.failure() for staged in requests]
        errors: list[Exception | None] = [None] * len(requests)
        if self._fsync:
            flushed, (journal_error,) = self._flush_open(requests, [transaction.fd])
            if journal_error is not None:
                log.error("cannot write the journal: %s", journal_error)
                for staged in requests:
                    _remove([self._path(entry, TMP, unique) for entry, unique in staged.files])
                self._abort([], transaction)
                return [staged.delivery.failure() for staged in requests]
            for index, ok in enumerate(flushed):
                if not ok:
                    errors[index] = requests[index].delivery.failure()
        moved: list[Path] = []
        try:
            for index, staged in enumerate(requests):
                if errors[index] is None:
                    placed = self._move_to_new(staged)
                    if placed is None:
                        errors[index] = staged.delivery.failure()
                    moved.extend(placed or ())
            if self._fsync:
                # The failed ones' removal from tmp/ must last too: a copy found there
                # after a crash would make recovery undo the whole batch.
                failed = [staged for staged, error in zip(requests, errors, strict=True) if error]
                tmp_dirs = {
                    self.path / entry / TMP for staged in failed for entry, _ in staged.files
                }
                for directory in sorted({path.parent for path in moved} | tmp_dirs):
                    fileio.fsync_dir(directory)
            # Not flushed: it tells readers the batch is whole (recovery needs no such sign).
            transaction.complete({})
        except OSError as error:
            log.error("batch of %d deliveries aborted: %s", len(requests), error)
            self._abort(moved, transaction)
            return [staged.delivery.failure() for staged in requests]
        self._last = transaction
        self._unsettled = self._settle_last
        return errors

    def _settle_last(self) -> None:
        last, self._last = self._last, None
        if last is not None:
            last.commit()

    def _move_to_new(self, staged: _Staged) -> list[Path] | None:
        """Rename one delivery's copies into `new/`: their paths, or None after cleaning up."""
        moved: list[Path] = []
        try:
            for entry, unique in staged.files:
                target = self._path(entry, NEW, unique)
                os.rename(self._path(entry, TMP, unique), target)
                moved.append(target)
        except OSError as error:
            log.error("%s: delivery failed: %s", staged.delivery.envelope.queue_id, error)
            _remove(moved + [self._path(entry, TMP, unique) for entry, unique in staged.files])
            return None
        return moved

    def _abort(self, moved: list[Path], transaction: Transaction) -> None:
        """Remove every copy of the batch, then drop the journal."""
        try:
            _remove(moved)
            if self._fsync:
                for directory in sorted({path.parent for path in moved}):
                    fileio.fsync_dir(directory)
            transaction.commit()
        except OSError as error:
            log.error("rollback failed, left to recovery: %s", error)
            transaction.abandon()

    def close(self) -> None:
        """Stop the flushing threads and close the journal."""
        self._flusher.close()
        super().close()


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
