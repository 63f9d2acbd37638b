"""The layout of a Maildir, as the convention has it and mutt, Dovecot and Python's
`mailbox` read it: defined here once, for the store that writes it and for its readers.

A Maildir is a directory holding `tmp/` (files being written, not messages yet), `new/`
(delivered, not yet seen by a mail client) and `cur/` (seen by one: the info flags, such
as `:2,S` for read, end the file's name). A delivery writes into `tmp/` and renames into
`new/`; a reader lists `new/` and `cur/`. Dot files are no messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

TMP: Final = "tmp"
NEW: Final = "new"
CUR: Final = "cur"
SUBDIRS: Final = (TMP, NEW, CUR)
MESSAGE_DIRS: Final = (NEW, CUR)
"""Where the messages are, in the order they pass through."""


def is_maildir(path: Path | str) -> bool:
    """Whether `path` is a directory with the `new/` and `cur/` of a Maildir."""
    return all(os.path.isdir(os.path.join(path, sub)) for sub in MESSAGE_DIRS)


def may_be_maildir(path: Path) -> bool:
    """Whether the directory `path` is a Maildir or one being made: empty (the server
    makes the directory, then its three parts) or holding at least one of them."""
    try:
        entries = os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    return not entries or any((path / part).is_dir() for part in SUBDIRS)
