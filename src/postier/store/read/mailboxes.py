"""The mailboxes of a store as they are on disk: an mbox file or a Maildir directory each,
the format of each found by looking, as the server names them (`store.naming`)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

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


class Store:
    """A store directory, read without changing anything in it."""

    def __init__(self, root: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.root = root
        self.lock_timeout = lock_timeout
        """How long a reader waits for a delivery that holds an mbox's lock."""

    def mailbox_files(self) -> list[MailboxFile]:
        """Every mailbox in the store; dot entries (the server's journal) and others skipped."""
        found: list[MailboxFile] = []
        try:
            scan = os.scandir(self.root)
        except FileNotFoundError:
            return found
        except NotADirectoryError:
            raise ReaderError(f"the store {self.root} is not a directory") from None
        with scan as entries:
            for entry in entries:
                if not entry.name.startswith("."):
                    mailbox = _mailbox_file(entry.path, entry.name, entry)
                    if mailbox is not None:
                        found.append(mailbox)
        return found

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
    path: str, entry: str, info: os.DirEntry[str] | os.stat_result
) -> MailboxFile | None:
    if isinstance(info, os.DirEntry):
        is_file, is_dir = info.is_file(follow_symlinks=False), info.is_dir(follow_symlinks=False)
    else:
        is_file, is_dir = stat.S_ISREG(info.st_mode), stat.S_ISDIR(info.st_mode)
    if entry.endswith(MBOX_SUFFIX) and is_file:
        return MailboxFile(Path(path), "mbox", entry.removesuffix(MBOX_SUFFIX))
    if is_dir and is_maildir(path):
        return MailboxFile(Path(path), "maildir", entry)
    return None
