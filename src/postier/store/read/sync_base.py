"""What every mailbox's update shares: the stamps the cheap look compares, the mailbox's
row, its address, and dropping a mailbox that went away."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..index.words import KnownWords
from ..maildir_layout import MESSAGE_DIRS
from ..naming import address_from_name
from .changes import Change, grouped
from .extract import extract
from .mailboxes import MailboxFile
from .mbox_changes import CHANGES_DIR, Logged, log_path, log_stamp_of
from .rows import BulkRows, delete

Progress = Callable[[int], None]
"""Told the number of messages read so far, now and then (for a progress line)."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the index holds of a mailbox."""

    format: str
    address: str
    stamp: str
    indexed_end: int


class MailboxUpdate:
    """One mailbox read into the index (`MboxUpdate`, `MaildirUpdate`): where it is, what the
    index holds of it, the transaction to write in."""

    def __init__(
        self,
        root: Path,
        lock_timeout: float,
        conn: sqlite3.Connection,
        mailbox: MailboxFile,
        *,
        known: Known | None,
        progress: Progress | None,
        words: KnownWords,
        bulk: BulkRows | None = None,
    ) -> None:
        self.root = root
        self.lock_timeout = lock_timeout
        self.conn = conn
        self.mailbox = mailbox
        self.entry = mailbox.path.name
        self.known = known
        self.progress = progress
        self.words = words
        self.bulk = bulk
        """A reindex from scratch's batches: the index holds none of the mailbox's rows
        (none is looked up), and its new ones are written many at once."""
        self.new: list[tuple[str, str]] = []
        self.changed: list[tuple[str, str]] = []
        self.deleted: list[tuple[str, str]] = []
        """(address, ID) of what the update found new, changed and gone."""
        self._count = 0

    def read_one(self) -> None:
        """Count a message read, telling `progress` every thousand; and let another thread
        of the process run. In a server, the index is read on a thread beside the event
        loop, and a thread that wants the interpreter back waits until the one holding it
        lets go: without this, up to the switch interval (5 ms) for each reply to send.
        Alone in its process (`postier reindex`), it has no thread to make way for, and
        yielding would only hand its processor to other processes (as when its only other
        threads are those of its extracting workers: `BulkRows.pooled`)."""
        if threading.active_count() > 1 and (self.bulk is None or not self.bulk.pooled):
            os.sched_yield()  # lets go of the interpreter lock for the call
        self._count += 1
        if self.progress is not None and self._count % 1000 == 0:
            self.progress(1000)

    def read_all(self) -> None:
        """Tell `progress` the messages read since it was last told."""
        if self.progress is not None:
            self.progress(self._count % 1000)


def mbox_stamp(
    path: Path, store_dir: Path, entry: str, logs: dict[str, str] | None = None
) -> str | None:
    """The stamp an mbox has now, from `stat` alone (None when it is gone); `logs`: the
    stamps of the change logs (`log_stamps`), when a look has them for every mbox."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    log = logs.get(entry, "-") if logs is not None else _log_stamp(store_dir, entry)
    return f"mbox:{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{log}"


def mbox_stamp_of(
    identity: tuple[int, int], size: int, mtime_ns: int, store_dir: Path, entry: str
) -> str:
    return f"{_file_stamp(identity, size, mtime_ns)}:{_log_stamp(store_dir, entry)}"


def _file_stamp(identity: tuple[int, int], size: int, mtime_ns: int) -> str:
    """The part of an mbox's stamp that is the file's own."""
    return f"mbox:{identity[0]}:{identity[1]}:{size}:{mtime_ns}"


def log_stamps(store_dir: Path) -> dict[str, str]:
    """The stamp of each mbox's change log (`_log_stamp`), by entry, from one listing of
    their directory: most mboxes have none, and a look need not ask for each."""
    stamps: dict[str, str] = {}
    try:
        scan = os.scandir(os.path.join(store_dir, CHANGES_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return stamps
    with scan as entries:
        for entry in entries:
            try:
                info = entry.stat()
            except FileNotFoundError:
                continue
            stamps[entry.name] = log_stamp_of(info)
    return stamps


def _log_stamp(store_dir: Path, entry: str) -> str:
    """The stamp of an mbox's log of changes not yet written into it (marks, deletions
    another process made): part of the mbox's stamp, so that they are found too."""
    try:
        info = os.stat(log_path(store_dir, entry))
    except FileNotFoundError:
        return log_stamp_of(None)
    return log_stamp_of(info)


def own_record_applied(
    conn: sqlite3.Connection, store_dir: Path, entry: str, logged: Logged
) -> bool:
    """After a reader logged a change of the mbox `entry` and wrote it into the index
    itself (in `conn`'s transaction), move the mailbox's stamp on past that record, so
    that no look reads the mbox again for it: only when the index had read the mbox as
    it is now and its log just as it was before the record (`Logged`: nobody else wrote
    between). Otherwise the stamp stays, and the next look does what it must."""
    try:
        info = os.stat(Path(store_dir) / entry, follow_symlinks=False)
    except FileNotFoundError:
        return False
    file = _file_stamp((info.st_dev, info.st_ino), info.st_size, info.st_mtime_ns)
    cursor = conn.execute(
        "UPDATE mailboxes SET stamp = ? WHERE entry = ? AND stamp = ?",
        (f"{file}:{logged.after}", entry, f"{file}:{logged.before}"),
    )
    return cursor.rowcount == 1


def maildir_stamp(path: Path) -> str | None:
    """The stamp of a Maildir: the mtimes of its `new/` and `cur/` (None when neither is)."""
    parts = []
    base = os.fspath(path)
    for sub in MESSAGE_DIRS:
        try:
            info = os.stat(os.path.join(base, sub))
        except (FileNotFoundError, NotADirectoryError):
            parts.append("-")
            continue
        parts.append(f"{info.st_ino}.{info.st_mtime_ns}")
    return None if parts == ["-", "-"] else "maildir:" + ":".join(parts)


def changed_since(path: Path, moment_ns: int) -> bool:
    """Whether the `new/` or `cur/` of the Maildir at `path` changed after `moment_ns`
    (nanoseconds since the epoch, the file system's clock)."""
    for sub in MESSAGE_DIRS:
        try:
            if os.stat(path / sub).st_mtime_ns > moment_ns:
                return True
        except (FileNotFoundError, NotADirectoryError):
            continue
    return False


def save_mailbox(
    conn: sqlite3.Connection, mailbox: MailboxFile, address: str, stamp: str, end: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO mailboxes (entry, format, address, stamp, indexed_end) "
        "VALUES (?, ?, ?, ?, ?)",
        (mailbox.path.name, mailbox.format, address, stamp, end),
    )


def forget(conn: sqlite3.Connection, entry: str) -> list[Change]:
    """Drop a mailbox that is gone from the index."""
    rows = conn.execute(
        "SELECT rowid, mailbox, id, hidden FROM messages WHERE entry = ?", (entry,)
    ).fetchall()
    delete(conn, [rowid for rowid, _, _, _ in rows])
    conn.execute("DELETE FROM mailboxes WHERE entry = ?", (entry,))
    return grouped("deleted", ((box, id_) for _, box, id_, hidden in rows if not hidden))


def mailbox_address(mailbox: MailboxFile, first: bytes | None) -> str:
    """The mailbox's address: from its name, else its first message's `Delivered-To:`."""
    address = address_from_name(mailbox.name)
    if address is not None:
        return address
    if first is not None:
        delivered_to = extract(first).delivered_to
        if delivered_to:
            return delivered_to.lower()
    return mailbox.name.lower()
