"""Opens a store directory in a given format, after recovering it; tells which format one uses."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StoreError
from .interface import MailStore
from .maildir import MaildirStore
from .maildir_layout import SUBDIRS
from .mbox import MboxStore
from .naming import MBOX_SUFFIX, StoreFormat
from .recovery import DEFAULT_LOCK_TIMEOUT, recover


def detect_format(path: Path | str) -> StoreFormat | None:
    """The format of the mailboxes in the store at `path`, from the first one found:
    "mbox" for a `*.mbox` file, "maildir" for a directory with `tmp/`, `new/` and `cur/`;
    None when there is none, or no directory at `path`."""
    try:
        scan = os.scandir(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    with scan as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.name.endswith(MBOX_SUFFIX) and entry.is_file(follow_symlinks=False):
                return "mbox"
            if entry.is_dir(follow_symlinks=False) and all(
                os.path.isdir(os.path.join(entry.path, sub)) for sub in SUBDIRS
            ):
                return "maildir"
    return None


def open_store(
    path: Path | str,
    fmt: StoreFormat,
    *,
    fsync: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> MailStore:
    """A store of format `fmt` at `path` (created if missing), with dead deliveries rolled back.

    Raises StoreError when the directory already holds mailboxes of the other format, or
    cannot be created, opened or recovered.
    """
    existing = detect_format(path)
    if existing not in (None, fmt):
        raise StoreError(f"{path} holds {existing} mailboxes, not {fmt}")
    store: MailStore
    try:
        if fmt == "mbox":
            store = MboxStore(path, fsync=fsync, lock_timeout=lock_timeout)
        else:
            store = MaildirStore(path, fsync=fsync)
    except OSError as error:
        raise StoreError(f"cannot open the store {path}: {error}") from error
    try:
        recover(store.path, fsync=fsync, lock_timeout=lock_timeout)
    except OSError as error:
        store.close()
        raise StoreError(f"cannot recover the store {path}: {error}") from error
    return store
