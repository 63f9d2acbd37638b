"""The transaction journal: what a delivery in progress must undo if its process dies.

Each open store keeps one journal file in `<store>/.postier/journal/`, created at its
first batch, holding an exclusive `flock` on it for as long as it lives, and removed
when the store closes. Before a batch appends anything, it writes its record at the
start of that file, a JSON object:

    {"version": 1,
     "mbox": {"alice@example.org.mbox": 1234},           # size of each mbox before
     "maildir": ["bob@example.org/1764210189.M1P2Q3R4.host"]}  # copies to be created

padded with spaces to the file's size, and makes it durable (`fdatasync`) before the
first append. Once every copy is flushed, and before anyone is told of success, it
clears the record by overwriting its first byte (`{`) with `CLEARED`, durably again.
A one-byte write cannot be torn by a crash, and a journal whose first byte is not `{`
holds no transaction. Writing in place keeps the file's size and blocks, so each
`fdatasync` flushes one data block, with no directory fsync and no metadata.

A journal that nobody holds belongs to a process that died: `recovery.recover` rolls
back its record, if any, and removes it. A batch that fails and cannot undo its appends
lets its journal go (`Transaction.abandon`) so that recovery does the same; the next
batch starts a new file.

A journal is created under its final name and locked right after; a recoverer that finds
it still empty and unlocked may remove it in between, which its owner notices (the file has
no link left) and answers by starting a new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from . import fileio

JOURNAL_DIR: Final = Path(".postier") / "journal"
SUFFIX: Final = ".journal"
VERSION: Final = 1
CLEARED: Final = b" "
"""What overwrites a record's opening `{` once its transaction is over."""
_OPENING: Final = b"{"
_PADDING: Final = b" "
_ATTEMPTS: Final = 5


def is_entry_name(name: str) -> bool:
    """Whether `name` can be a single entry of the store: no separator, not hidden."""
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


def holds_transaction(data: bytes) -> bool:
    """Whether a journal's bytes hold a record (complete or not) rather than nothing."""
    return data[:1] == _OPENING


@dataclass(frozen=True, slots=True)
class JournalEntries:
    """What one transaction may leave behind in the store."""

    mbox_sizes: dict[str, int] = field(default_factory=dict)
    """Each mbox file name (in the store) and its size before the transaction."""
    maildir_files: tuple[str, ...] = ()
    """Each Maildir copy as `<mailbox>/<unique name>`, in `tmp/` or `new/`."""

    def encode(self) -> bytes:
        document = {"version": VERSION, "mbox": self.mbox_sizes, "maildir": self.maildir_files}
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> JournalEntries | None:
        """The entries, or None when `data` is not a complete journal of this version."""
        if not holds_transaction(data):
            return None  # cleared, or never written
        try:
            document = json.loads(data)  # the padding is JSON white space
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("version") != VERSION:
            return None
        sizes, files = document.get("mbox"), document.get("maildir")
        if not isinstance(sizes, dict) or not isinstance(files, list):
            return None
        if not all(is_entry_name(name) and type(size) is int for name, size in sizes.items()):
            return None
        if not all(isinstance(item, str) and _is_maildir_item(item) for item in files):
            return None
        return cls(sizes, tuple(files))


def _is_maildir_item(item: str) -> bool:
    mailbox, _, unique = item.partition("/")
    return is_entry_name(mailbox) and is_entry_name(unique)


def read_fd(fd: int) -> bytes:
    """The whole content of the journal open at `fd`."""
    parts: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 1 << 16, offset):
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


class _JournalFile:
    """This process's journal file: open, locked, its size (records are padded to it), and
    whether it holds a record not yet cleared."""

    __slots__ = ("fd", "name", "pending", "size")

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self.fd = fd
        self.size = 0
        self.pending = False


class Transaction:
    """One record in the journal, pending until `commit` or `abandon`."""

    def __init__(self, journal: Journal, file: _JournalFile) -> None:
        self._journal = journal
        self._file = file
        self.name = file.name
        self._held = True

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

    @property
    def name(self) -> str | None:
        """The name of this store's journal file, while it has one."""
        return None if self._file is None else self._file.name

    def begin(self, entries: JournalEntries) -> Transaction:
        """Write `entries` to the journal, durable on return."""
        data = entries.encode()
        if self._file is not None and self._file.pending:
            # A transaction that neither committed nor let go (an unexpected error cut
            # its batch short): its record must not be overwritten. Recovery rolls it back.
            self.let_go(self._file)
        journal = self._file or self._create()
        try:
            fileio.write_all_at(journal.fd, data.ljust(journal.size, _PADDING), 0)
            journal.size = max(journal.size, len(data))
            journal.pending = True
            if self.fsync:
                os.fdatasync(journal.fd)
        except BaseException:
            # Neither durable nor followed by any append: drop the file, a new one follows.
            self._discard(journal)
            raise
        return Transaction(self, journal)

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
