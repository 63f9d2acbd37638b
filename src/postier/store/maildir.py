"""The Maildir store: a directory per recipient, `<store>/<name>/{tmp,new,cur}`, a file per message.

Each copy is written in `tmp/` under a unique name, fsync'd, then renamed into `new/`:
a reader never sees half a message, and no lock is needed (the classic scheme of
https://cr.yp.to/proto/maildir.html, safe on shared file systems). The caller's thread
writes and fsyncs its own files in `tmp/`, concurrently with other callers; the batch
(see `batching`) then renames them into `new/` under one journal and fsyncs each `new/`
directory once. A file left in `tmp/` by a crash is not a message, and is removed after
36 hours as the convention says.

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
from .journal import JournalEntries, Transaction
from .naming import StoreFormat

log = logging.getLogger(__name__)

SUBDIRS: Final = ("tmp", "new", "cur")
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

    def _path(self, entry: str, sub: str, unique: str) -> Path:
        return self.path / entry / sub / unique

    # -- in the caller's thread --------------------------------------------------------

    def _prepare(self, delivery: Delivery) -> _Staged:
        """Write and flush every copy in `tmp/`."""
        files: list[tuple[str, str]] = []
        try:
            for copy in delivery.copies:
                unique = unique_name(self._host)
                self._write_tmp(delivery, copy, unique)
                files.append((copy.entry, unique))
        except Exception as error:  # a failure to read the message or to write the copy
            log.error("%s: delivery failed: %s", delivery.envelope.queue_id, error)
            self._ready.difference_update(copy.entry for copy in delivery.copies)
            _remove([self._path(entry, "tmp", unique) for entry, unique in files])
            raise delivery.failure() from None
        return _Staged(delivery, files)

    def _write_tmp(self, delivery: Delivery, copy: Copy, unique: str) -> None:
        self._ensure_maildir(copy.entry)
        path = self._path(copy.entry, "tmp", unique)
        fd = os.open(path, _CREATE_FLAGS, fileio.FILE_MODE)
        try:
            pieces = render_copy(delivery.envelope, copy.recipient, delivery.message, self.format)
            fileio.write_chunks(fd, pieces)
            if self._fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _remove([path])
            raise
        os.close(fd)

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


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
