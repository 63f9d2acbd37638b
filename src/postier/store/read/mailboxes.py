"""The mailboxes of a store as they are on disk: an mbox file or a Maildir directory each,
the format of each found by looking, as the server names them (`store.naming`)."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..maildir_layout import is_maildir
from ..naming import MBOX_SUFFIX, StoreFormat
from .errors import ReaderError
from .snapshot import DEFAULT_LOCK_TIMEOUT


@dataclass(frozen=True, slots=True)
class MailboxFile:
    """One mailbox on disk: an mbox file or a Maildir directory."""

    path: Path
    format: StoreFormat
    name: str
    """The name made by `store.naming` (the entry without `.mbox`)."""


RACY_NS: Final = 2_000_000_000
"""How old the store directory's mtime must be for its listing to be reused (a
directory's mtime moves in steps of the file system's clock: see `sync_maildir.RACY_NS`)."""


@dataclass(frozen=True, slots=True)
class _Listing:
    """The store directory's mailboxes as last listed, and what was not one yet."""

    stamp: tuple[int, int, int]
    """The directory's device, inode and mtime when it was listed."""
    mailboxes: list[MailboxFile]
    unformed: list[tuple[str, str]]
    """(path, entry) of directories that were no Maildir yet (one being made)."""


class Store:
    """A store directory, read without changing anything in it."""

    def __init__(self, root: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.root = root
        self.lock_timeout = lock_timeout
        """How long a reader waits for a delivery that holds an mbox's lock."""
        self._listing: _Listing | None = None

    def mailbox_files(self) -> list[MailboxFile]:
        """Every mailbox in the store; dot entries (the server's journal) and others skipped.

        A look runs this each time, on stores of a thousand mailboxes: while the store
        directory's mtime says no entry came or went, the last listing is reused and only
        the directories that were no Maildir yet are looked at again."""
        try:
            info = os.stat(self.root)
        except FileNotFoundError:
            return []
        stamp = (info.st_dev, info.st_ino, info.st_mtime_ns)
        listing = self._listing
        if listing is not None and listing.stamp == stamp:
            formed = [
                found
                for path, entry in listing.unformed
                if (found := _mailbox_file(path, entry, None)) is not None
            ]
            return listing.mailboxes + formed if formed else list(listing.mailboxes)
        began = time.time_ns()
        mailboxes, unformed = self._list()
        self._listing = _Listing(stamp, mailboxes, unformed) if stamp[2] < began - RACY_NS else None
        return list(mailboxes)

    def _list(self) -> tuple[list[MailboxFile], list[tuple[str, str]]]:
        found: list[MailboxFile] = []
        unformed: list[tuple[str, str]] = []
        try:
            scan = os.scandir(self.root)
        except FileNotFoundError:
            return found, unformed
        except NotADirectoryError:
            raise ReaderError(f"the store {self.root} is not a directory") from None
        with scan as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                mailbox = _mailbox_file(entry.path, entry.name, entry)
                if mailbox is not None:
                    found.append(mailbox)
                elif entry.is_dir(follow_symlinks=False):
                    unformed.append((entry.path, entry.name))
        return found, unformed

    def mailbox_file(self, entry: str) -> MailboxFile | None:
        """The mailbox of that entry name, or None when there is none (without listing
        the store: a server's index looks at the few mailboxes a delivery wrote)."""
        if entry.startswith(".") or "/" in entry:
            return None
        path = os.path.join(self.root, entry)
        try:
            info = os.stat(path, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _mailbox_file(path, entry, info)


def _mailbox_file(
    path: str, entry: str, info: os.DirEntry[str] | os.stat_result | None
) -> MailboxFile | None:
    if info is None:
        is_file, is_dir = False, os.path.isdir(path)
    elif isinstance(info, os.DirEntry):
        is_file, is_dir = info.is_file(follow_symlinks=False), info.is_dir(follow_symlinks=False)
    else:
        is_file, is_dir = stat.S_ISREG(info.st_mode), stat.S_ISDIR(info.st_mode)
    if entry.endswith(MBOX_SUFFIX) and is_file:
        return MailboxFile(Path(path), "mbox", entry.removesuffix(MBOX_SUFFIX))
    if is_dir and is_maildir(path):
        return MailboxFile(Path(path), "maildir", entry)
    return None
