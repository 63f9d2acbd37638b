"""The transaction journal: what a delivery in progress must undo if its process dies.

Each open store keeps one journal file in `<store>/.postier/journal/`, created at its
first batch, holding an exclusive `flock` on it for as long as it lives, and removed
when the store closes. Before a batch appends anything, it writes its record at the
start of that file, a JSON object:

    {"version": 2, "id": 7,
     "mbox": {"alice@example.org.mbox": 1234},           # size of each mbox before
     "maildir": ["bob@example.org/1764210189.M1P2Q3R4.host"]}  # copies to be created

padded with spaces to the file's size, and makes it durable (`fdatasync`) before the
first append. A Maildir batch flushes it together with its copies in `tmp/` (one commit
of the file system for all), since nothing is renamed into `new/` before both are durable.

An mbox batch whose messages are small enough to be laid out in memory first knows each
mbox's size after it, and writes it in the record too (`"ends": {...}`). Otherwise, or
when a delivery failed and was cut off meanwhile, it writes a second object once all is
appended, the batch's completion, `{"id": 7, "ends": {"alice@example.org.mbox": 2345}}`,
and flushes it together with the mailboxes. Once the mailboxes are flushed the batch is
provably complete (`is_complete`): a mailbox at least that long holds all of it. A
Maildir batch needs no second object: it is complete once none of its copies is left in
`tmp/` (each was flushed before it was renamed). So each caller can be told of success
as soon as that flush returns, and the record is cleared later (`Transaction.commit`:
its first byte, `{`, overwritten with a space, durably), off the caller's path. A crash
between the two leaves a complete record, which recovery keeps rather than rolls back.

A one-byte write cannot be torn by a crash, and a journal whose first byte is not `{`
holds no transaction. Writing in place keeps the file's size and blocks, so each
`fdatasync` flushes a data block or two, with no directory fsync and no metadata.

A journal that nobody holds belongs to a process that died: `recovery.recover` rolls
back its record, if any and not complete, and removes it. A batch that fails and cannot
undo its appends lets its journal go (`Transaction.abandon`) so that recovery does the
same; the next batch starts a new file.

A journal is created under its final name and locked right after; a recoverer that finds
it still empty and unlocked may remove it in between, which its owner notices (the file has
no link left) and answers by starting a new one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import secrets
from pathlib import Path
from typing import Final

from . import fileio
from .journal_record import (
    CLEARED,
    PADDING,
    JournalEntries,
    completion_offset,
)

JOURNAL_DIR: Final = Path(".postier") / "journal"
SUFFIX: Final = ".journal"
_ATTEMPTS: Final = 5


def read_fd(fd: int) -> bytes:
    """The whole content of the journal open at `fd`."""
    parts: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 1 << 16, offset):
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


class _JournalFile:
    """This process's journal file: open, locked, its size (records are padded to it), the
    length of its record, and whether that record is not yet cleared."""

    __slots__ = ("fd", "name", "pending", "record_length", "size")

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self.fd = fd
        self.size = 0
        self.record_length = 0
        self.pending = False


class Transaction:
    """One record in the journal, pending until `commit` or `abandon`."""

    def __init__(self, journal: Journal, file: _JournalFile, entries: JournalEntries) -> None:
        self._journal = journal
        self._file = file
        self._entries = entries
        self.name = file.name
        self._held = True

    @property
    def fd(self) -> int:
        """The journal file, for the caller to flush along with its own files."""
        return self._file.fd

    def complete(self, mbox_ends: dict[str, int]) -> None:
        """Write the batch's completion: each mbox's size now that all is appended.

        Not flushed here: the caller flushes `fd` together with the mailboxes, after
        which the batch is complete even if its process dies before `commit`.
        """
        if not self._held:
            raise OSError("the journal was let go")
        self._journal.write_completion(self._file, self._entries.encode_completion(mbox_ends))

    def commit(self) -> None:
        """Every copy is flushed (or every append undone): clear the record, durably.

        After `abandon` (a failed commit included), the journal is no longer ours to
        reuse: it is removed instead, as recovery would.
        """
        if self._held:
            try:
                self._journal.clear(self._file)
            except BaseException:
                self.abandon()
                raise
            self._held = False
            return
        # Already gone after an earlier attempt that failed later on.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.name, dir_fd=self._journal.dir_fd)
        if self._journal.fsync:
            fileio.fsync_dir(self._journal.dir_fd)

    def hand_over(self) -> None:
        """Leave the record to be overwritten by the next `begin`, which makes its own
        record durable in its place: for a complete batch only, whose record may go."""
        if self._held:
            self._held = False
            self._file.pending = False

    def abandon(self) -> None:
        """Let the journal go with its record: a journal left behind is rolled back by
        recovery. The next transaction starts a new file."""
        if self._held:
            self._held = False
            self._journal.let_go(self._file)


class Journal:
    """The journal directory of one store and this store's journal file in it.

    Only one batch runs at a time (see `batching`), so one file serves them all.
    """

    def __init__(self, store_dir: Path, *, fsync: bool) -> None:
        self.path = store_dir / JOURNAL_DIR
        self.fsync = fsync
        fileio.make_private_dir(self.path, fsync=fsync)
        self.dir_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._file: _JournalFile | None = None
        self._last_id = 0

    @property
    def name(self) -> str | None:
        """The name of this store's journal file, while it has one."""
        return None if self._file is None else self._file.name

    def begin(self, entries: JournalEntries, *, sync: bool = True) -> Transaction:
        """Write `entries` to the journal, durable on return unless `sync` is False (the
        caller then flushes `Transaction.fd` itself before it changes anything listed).

        The record gets this journal's next id (`record_id`), whatever `entries` holds.
        """
        self._last_id += 1
        entries = dataclasses.replace(entries, record_id=self._last_id, finished=False)
        data = entries.encode()
        if self._file is not None and self._file.pending:
            # A transaction that neither committed nor let go (an unexpected error cut
            # its batch short): its record must not be overwritten. Recovery rolls it back.
            self.let_go(self._file)
        journal = self._file or self._create()
        try:
            # Padded to whole blocks: the completion's place after it is ready, and any
            # completion of an earlier record is wiped.
            padded = data.ljust(max(journal.size, completion_offset(len(data))), PADDING)
            fileio.write_all_at(journal.fd, padded, 0)
            journal.size = len(padded)
            journal.record_length = len(data)
            journal.pending = True
            if self.fsync and sync:
                os.fdatasync(journal.fd)
        except BaseException:
            # Neither durable nor followed by any append: drop the file, a new one follows.
            self._discard(journal)
            raise
        return Transaction(self, journal, entries)

    def write_completion(self, journal: _JournalFile, completion: bytes) -> None:
        """Write a record's completion on the first whole block after the record."""
        if journal is not self._file:
            raise OSError("the journal was let go")
        offset = completion_offset(journal.record_length)
        fileio.write_all_at(journal.fd, completion, offset)
        journal.size = max(journal.size, offset + len(completion))

    def clear(self, journal: _JournalFile) -> None:
        """Mark the record in `journal` (this store's file) as done, durably."""
        if journal is not self._file:
            raise OSError("the journal was let go")
        fileio.write_all_at(journal.fd, CLEARED, 0)
        if self.fsync:
            os.fdatasync(journal.fd)
        journal.pending = False

    def let_go(self, journal: _JournalFile) -> None:
        """Close `journal` and unlock it, leaving it for recovery; the next transaction
        starts a new file."""
        if journal is self._file:
            self._file = None
            os.close(journal.fd)

    def _create(self) -> _JournalFile:
        for _ in range(_ATTEMPTS):
            name = f"{os.getpid()}-{secrets.token_hex(8)}{SUFFIX}"
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, fileio.FILE_MODE, dir_fd=self.dir_fd)
            journal = _JournalFile(name, fd)
            try:
                # Only a recoverer holds a fresh journal, and only for a moment.
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_nlink == 0:
                    os.close(fd)
                    continue
                if self.fsync:
                    # Its name must last too, or a crash could leave a record unfound.
                    fileio.fsync_dir(self.dir_fd)
            except BaseException:
                self._discard(journal)
                raise
            self._file = journal
            return journal
        raise OSError("could not create a journal")

    def _discard(self, journal: _JournalFile) -> None:
        # If it stays, recovery drops it: it lists nothing that was appended.
        if self._file is journal:
            self._file = None
        with contextlib.suppress(OSError):
            os.unlink(journal.name, dir_fd=self.dir_fd)
        os.close(journal.fd)

    def orphans_touching(self, mbox_names: set[str]) -> bool:
        """Whether the journal of a dead transaction lists one of `mbox_names`.

        Appending behind such a transaction would be lost when it is rolled back, so the
        caller recovers first. A journal whose `flock` is held is alive and skipped: its
        owner holds the locks of its mailboxes, which are not the caller's.
        """
        own = self.name
        for entry in os.listdir(self.dir_fd):
            if not entry.endswith(SUFFIX) or entry == own:
                continue
            try:
                fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dir_fd)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                entries = JournalEntries.decode(read_fd(fd))
                if entries is not None and mbox_names & entries.mbox_sizes.keys():
                    return True
            finally:
                os.close(fd)
        return False

    def close(self) -> None:
        """Remove this store's journal if it holds nothing, then close the directory.

        A journal still holding a record (a batch cut short) stays for recovery.
        """
        journal = self._file
        if journal is not None:
            self._file = None
            try:
                if not journal.pending:
                    os.unlink(journal.name, dir_fd=self.dir_fd)
                    if self.fsync:
                        fileio.fsync_dir(self.dir_fd)
            finally:
                os.close(journal.fd)
        os.close(self.dir_fd)
