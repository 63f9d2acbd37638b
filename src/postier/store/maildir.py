"""The Maildir store: a directory per recipient, `<store>/<name>/{tmp,new,cur}`, a file per message.

Each copy is written in `tmp/` under a unique name, fsync'd, then renamed into `new/`:
a reader never sees half a message, and no lock is needed (the classic scheme of
https://cr.yp.to/proto/maildir.html, safe on shared file systems). The caller's thread
writes its files in `tmp/`, concurrently with other callers; a caller with many
deliveries at hand (`deliver_batch`) writes them all, then fsyncs them from a few threads
at once (`flush`), so that one journal commit serves them. The batch (see `batching`)
then renames them into `new/` under one journal and fsyncs each `new/` directory once.
A file left in `tmp/` by a crash is not a message, and is removed after 36 hours as the
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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from . import fileio
from .base import BatchedStore, Delivery
from .batching import DEFAULT_MAX_BATCH
from .copies import Copy, render_copy
from .errors import DeliveryError
from .flush import ParallelFlusher
from .journal import JournalEntries, Transaction
from .naming import StoreFormat

log = logging.getLogger(__name__)

SUBDIRS: Final = ("tmp", "new", "cur")
FLUSH_GROUP: Final = 64
"""Copies written before they are flushed together; bounds the files open at once."""
_CREATE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_counter = itertools.count()


def _host_name() -> str:
    """This host's name as the Maildir convention writes it: `/` and `:` as octal escapes."""
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


def unique_name(host: str) -> str:
    """A file name no other delivery uses: `<sec>.M<usec>P<pid>Q<n>R<random>.<host>`."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return f"{seconds}.M{micros}P{os.getpid()}Q{next(_counter)}R{secrets.token_hex(8)}.{host}"


@dataclass(frozen=True, slots=True)
class _Staged:
    """A delivery whose copies are all written and flushed in `tmp/`."""

    delivery: Delivery
    files: list[tuple[str, str]]
    """Each copy's Maildir (its entry in the store) and unique file name."""


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

    def _path(self, entry: str, sub: str, unique: str) -> Path:
        return self.path / entry / sub / unique

    # -- in the caller's thread --------------------------------------------------------

    def _prepare(self, delivery: Delivery) -> _Staged:
        """Write and flush every copy in `tmp/`."""
        staged, _ = self._stage(delivery, flush=True)
        return staged

    def _prepare_all(self, deliveries: Sequence[Delivery]) -> list[_Staged | DeliveryError]:
        """Write the copies of many deliveries in `tmp/`, then flush them all at once."""
        if not self._fsync or sum(len(delivery.copies) for delivery in deliveries) <= 1:
            return super()._prepare_all(deliveries)
        outcomes: list[_Staged | DeliveryError | None] = [None] * len(deliveries)
        group: list[tuple[int, _Staged, list[int]]] = []
        for index, delivery in enumerate(deliveries):
            try:
                staged, fds = self._stage(delivery, flush=False)
            except DeliveryError as error:
                outcomes[index] = error
                continue
            group.append((index, staged, fds))
            if sum(len(fds) for _, _, fds in group) >= FLUSH_GROUP:  # bounds the open files
                self._flush_group(group, outcomes)
                group = []
        self._flush_group(group, outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    def _flush_group(
        self,
        group: list[tuple[int, _Staged, list[int]]],
        outcomes: list[_Staged | DeliveryError | None],
    ) -> None:
        """fsync the open copies of `group` together and close them; set each delivery's
        outcome at its index. A delivery whose copies could not all be flushed fails
        alone, its files removed."""
        fds = [fd for _, _, staged_fds in group for fd in staged_fds]
        errors = iter(self._flusher.fsync_all(fds))
        for fd in fds:
            os.close(fd)
        for index, staged, staged_fds in group:
            failures = [error for error in (next(errors) for _ in staged_fds) if error]
            if failures:
                log.error("%s: delivery failed: %s", staged.delivery.envelope.queue_id, failures[0])
                _remove([self._path(entry, "tmp", unique) for entry, unique in staged.files])
                outcomes[index] = staged.delivery.failure()
            else:
                outcomes[index] = staged

    def _stage(self, delivery: Delivery, *, flush: bool) -> tuple[_Staged, list[int]]:
        """Write every copy in `tmp/`, flushed and closed when `flush`, else left open: the
        copies' descriptors, for the caller to flush and close. Raises DeliveryError after
        cleaning up."""
        files: list[tuple[str, str]] = []
        fds: list[int] = []
        try:
            for copy in delivery.copies:
                unique = unique_name(self._host)
                fd = self._write_tmp(delivery, copy, unique, flush=flush)
                files.append((copy.entry, unique))
                if fd is not None:
                    fds.append(fd)
        except Exception as error:  # a failure to read the message or to write the copy
            log.error("%s: delivery failed: %s", delivery.envelope.queue_id, error)
            for fd in fds:
                os.close(fd)
            self._ready.difference_update(copy.entry for copy in delivery.copies)
            _remove([self._path(entry, "tmp", unique) for entry, unique in files])
            raise delivery.failure() from None
        return _Staged(delivery, files), fds

    def _write_tmp(self, delivery: Delivery, copy: Copy, unique: str, *, flush: bool) -> int | None:
        """Write one copy in `tmp/`; with `flush`, fsync it (when the store syncs) and close
        it, else return its fd."""
        self._ensure_maildir(copy.entry)
        path = self._path(copy.entry, "tmp", unique)
        fd = os.open(path, _CREATE_FLAGS, fileio.FILE_MODE)
        try:
            pieces = render_copy(delivery.envelope, copy.recipient, delivery.message, self.format)
            fileio.write_chunks(fd, pieces)
            if flush and self._fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _remove([path])
            raise
        if flush:
            os.close(fd)
            return None
        return fd

    def _ensure_maildir(self, entry: str) -> None:
        if entry not in self._ready:
            for sub in SUBDIRS:
                # A new Maildir must survive a crash with the first message moved into it.
                fileio.make_private_dir(self.path / entry / sub, fsync=self._fsync)
            self._ready.add(entry)

    # -- in the batch ------------------------------------------------------------------

    def _run_batch(self, requests: Sequence[_Staged]) -> list[Exception | None]:
        listed = tuple(f"{entry}/{unique}" for staged in requests for entry, unique in staged.files)
        try:
            transaction = self._journal.begin(JournalEntries(maildir_files=listed))
        except OSError as error:
            log.error("cannot write the journal: %s", error)
            for staged in requests:
                _remove([self._path(entry, "tmp", unique) for entry, unique in staged.files])
            return [staged.delivery.failure() for staged in requests]
        errors: list[Exception | None] = []
        moved: list[Path] = []
        try:
            for staged in requests:
                placed = self._move_to_new(staged)
                errors.append(None if placed is not None else staged.delivery.failure())
                moved.extend(placed or ())
            if self._fsync:
                for directory in sorted({path.parent for path in moved}):
                    fileio.fsync_dir(directory)
            transaction.commit()
        except OSError as error:
            log.error("batch of %d deliveries aborted: %s", len(requests), error)
            self._abort(moved, transaction)
            return [staged.delivery.failure() for staged in requests]
        return errors

    def _move_to_new(self, staged: _Staged) -> list[Path] | None:
        """Rename one delivery's copies into `new/`: their paths, or None after cleaning up."""
        moved: list[Path] = []
        try:
            for entry, unique in staged.files:
                target = self._path(entry, "new", unique)
                os.rename(self._path(entry, "tmp", unique), target)
                moved.append(target)
        except OSError as error:
            log.error("%s: delivery failed: %s", staged.delivery.envelope.queue_id, error)
            _remove(moved + [self._path(entry, "tmp", unique) for entry, unique in staged.files])
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
