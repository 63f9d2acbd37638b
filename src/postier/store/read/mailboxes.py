"""The mailboxes of a store as they are on disk: an mbox file or a Maildir directory each,
the format of each found by looking, as the server names them (`store.naming`)."""

from __future__ import annotations

import os
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
                if entry.name.startswith("."):
                    continue
                if entry.name.endswith(MBOX_SUFFIX) and entry.is_file(follow_symlinks=False):
                    name = entry.name.removesuffix(MBOX_SUFFIX)
                    found.append(MailboxFile(Path(entry.path), "mbox", name))
                elif entry.is_dir(follow_symlinks=False) and is_maildir(entry.path):
                    found.append(MailboxFile(Path(entry.path), "maildir", entry.name))
        return found
