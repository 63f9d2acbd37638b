"""The transaction journal: what a delivery in progress must undo if its process dies.

Before a batch of deliveries appends anything, it writes one journal file in
`<store>/.postier/journal/`, a JSON object:

    {"version": 1,
     "mbox": {"alice@example.org.mbox": 1234},           # size of each mbox before
     "maildir": ["bob@example.org/1764210189.M1P2Q3R4.host"]}  # copies to be created

and makes it durable (file and directory fsync'd) before the first append. Its owner
holds an exclusive `flock` on it for as long as it lives, and unlinks it (directory
fsync'd again) once every copy is flushed, before anyone is told of success. A journal
that nobody holds belongs to a process that died: `recovery.recover` rolls it back.

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
_ATTEMPTS: Final = 5


def is_entry_name(name: str) -> bool:
    """Whether `name` can be a single entry of the store: no separator, not hidden."""
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


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
        try:
            document = json.loads(data)
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


class Transaction:
    """One journal file, locked by its owner until `commit` or `abandon`."""

    def __init__(self, journal: Journal, name: str, fd: int) -> None:
        self._journal = journal
        self.name = name
        self._fd: int | None = fd

    def commit(self) -> None:
        """Every copy is flushed: remove the journal, durably, then let it go."""
        try:
            # Already gone after an earlier attempt that failed later on.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name, dir_fd=self._journal.dir_fd)
            if self._journal.fsync:
                fileio.fsync_dir(self._journal.dir_fd)
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Let the journal go (without removing it, unless `commit` did): a journal left
        behind is rolled back by recovery."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class Journal:
    """The journal directory of one store, kept open for cheap directory fsyncs."""

    def __init__(self, store_dir: Path, *, fsync: bool) -> None:
        self.path = store_dir / JOURNAL_DIR
        self.fsync = fsync
        fileio.make_private_dir(self.path, fsync=fsync)
        self.dir_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def begin(self, entries: JournalEntries) -> Transaction:
        """Write `entries` to a new journal, durable on return, locked by this process."""
        data = entries.encode()
        for _ in range(_ATTEMPTS):
            name = f"{os.getpid()}-{secrets.token_hex(8)}{SUFFIX}"
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, fileio.FILE_MODE, dir_fd=self.dir_fd)
            try:
                # Only a recoverer holds a fresh journal, and only for a moment.
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_nlink == 0:
                    os.close(fd)
                    continue
                fileio.write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
                    fileio.fsync_dir(self.dir_fd)
            except BaseException:
                self._discard(name, fd)
                raise
            return Transaction(self, name, fd)
        raise OSError("could not create a journal")

    def _discard(self, name: str, fd: int) -> None:
        # If it stays, recovery drops it: it lists nothing that was written.
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=self.dir_fd)
        os.close(fd)

    def orphans_touching(self, mbox_names: set[str]) -> bool:
        """Whether the journal of a dead transaction lists one of `mbox_names`.

        Appending behind such a transaction would be lost when it is rolled back, so the
        caller recovers first. A journal whose `flock` is held is alive and skipped: its
        owner holds the locks of its mailboxes, which are not the caller's.
        """
        for entry in os.listdir(self.dir_fd):
            if not entry.endswith(SUFFIX):
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
        os.close(self.dir_fd)
