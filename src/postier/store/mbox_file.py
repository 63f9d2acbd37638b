"""An mbox file held open between batches, its lock taken through the open file, so that a
batch need not reopen and relock the mailboxes the last one used."""

from __future__ import annotations

import os
import stat
from typing import Final

from . import fileio
from .locking import FileLock

OPEN_FLAGS: Final = (
    # O_NONBLOCK: opening a FIFO planted in the store must fail, not hang.
    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
)


class OpenMailbox:
    """A mailbox file kept open between batches, with the lock taken through it."""

    def __init__(self, path: str) -> None:
        self.path = path
        # `created`: the file is new, and its name not yet durable in the store directory.
        try:
            fd = os.open(path, OPEN_FLAGS | os.O_EXCL, fileio.FILE_MODE)
            self.created = True
        except FileExistsError:
            fd = os.open(path, OPEN_FLAGS, fileio.FILE_MODE)
            self.created = False
        self.lock = FileLock(path, fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            self.lock.try_close()
            raise OSError(f"{path} is not a regular file")

    @property
    def fd(self) -> int:
        return self.lock.fd

    def is_current(self) -> bool:
        """Whether the path still names the open file (a reader may replace or remove it)."""
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        opened = os.fstat(self.fd)
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def release_all(held: dict[str, OpenMailbox]) -> None:
    for mailbox in held.values():
        mailbox.lock.release()
