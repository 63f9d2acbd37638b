"""Bringing the index up to date with the files, re-reading only what changed.

The files are the truth. For each mailbox the index keeps a `stamp` of what it last read:

- an mbox: its device, inode, complete size (taken under the delivery lock, as every
  reader takes it) and mtime, and the stamp of its log of changes not yet written into
  it (`mbox_changes`). The same file grown at its end, with a `From ` line where the index
  stopped, is read from there on: that is what a delivery does. Anything else (the file
  replaced by a compaction or another tool, cut, rewritten in place by a mail client) is
  read again from the start; the IDs it finds (`store.identity`) tell which messages the
  index already has, so only the new ones are parsed.
- a Maildir: the mtimes of `new/` and `cur/`, which every delivery, removal and flag
  change (a rename) moves on. The listing is compared with the index by unique name.

Comparing the stamps costs a few `stat` calls a mailbox; `sync` does it at every look.
Each mailbox is updated in one write transaction, so a reader in any process sees it
before or after, never half-way. What the update found is returned as `Change`s.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ..identity import IdAssigner, MboxKey, maildir_message_id, mbox_key
from ..maildir_flags import parse_name
from ..mbox_changes import log_path, pending_changes
from ..mbox_compact import status_seen
from ..naming import address_from_name
from .changes import Change, grouped
from .extract import extract
from .mailboxes import MailboxFile, Store
from .rows import Placed, delete, insert
from .scan import MaildirFile, StoredMessage, iter_mbox, list_maildir
from .snapshot import file_identity, open_mbox
from .summary import header_end

log = logging.getLogger("postier.store")

_EPOCH: Final = datetime.fromtimestamp(0, UTC)
Progress = Callable[[int], None]
"""Told the number of messages read so far, now and then (for a progress line)."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the index holds of a mailbox."""

    format: str
    address: str
    stamp: str
    indexed_end: int


def mbox_stamp(path: Path, store_dir: Path, entry: str) -> str | None:
    """The stamp an mbox has now, from `stat` alone (None when it is gone)."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return _mbox_stamp((info.st_dev, info.st_ino), info.st_size, info.st_mtime_ns, store_dir, entry)


def _mbox_stamp(
    identity: tuple[int, int], size: int, mtime_ns: int, store_dir: Path, entry: str
) -> str:
    return f"mbox:{identity[0]}:{identity[1]}:{size}:{mtime_ns}:{_log_stamp(store_dir, entry)}"


def _log_stamp(store_dir: Path, entry: str) -> str:
    """The stamp of an mbox's log of changes not yet written into it (marks, deletions
    another process made): part of the mbox's stamp, so that they are found too."""
    try:
        info = os.stat(log_path(store_dir, entry))
    except FileNotFoundError:
        return "-"
    return f"{info.st_ino}.{info.st_size}.{info.st_mtime_ns}"


def maildir_stamp(path: Path) -> str | None:
    """The stamp of a Maildir: the mtimes of its `new/` and `cur/` (None when neither is)."""
    parts = []
    for sub in ("new", "cur"):
        try:
            info = os.stat(path / sub)
        except (FileNotFoundError, NotADirectoryError):
            parts.append("-")
            continue
        parts.append(f"{info.st_ino}.{info.st_mtime_ns}")
    return None if parts == ["-", "-"] else "maildir:" + ":".join(parts)


class IndexSync:
    """Reads what changed in a store's mailboxes into its index."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root

    # -- the cheap look ----------------------------------------------------------------

    def stale(
        self, conn: sqlite3.Connection, files: list[MailboxFile]
    ) -> tuple[list[MailboxFile], list[str]]:
        """The mailboxes whose stamp differs from the index's, and the entries the index
        has that are no longer there."""
        known = dict(conn.execute("SELECT entry, stamp FROM mailboxes").fetchall())
        changed = []
        for mailbox in files:
            entry = mailbox.path.name
            stamp = known.pop(entry, None)
            if stamp is None or stamp != self._stamp(mailbox):
                changed.append(mailbox)
        return changed, list(known)

    def _stamp(self, mailbox: MailboxFile) -> str | None:
        if mailbox.format == "mbox":
            return mbox_stamp(mailbox.path, self.root, mailbox.path.name)
        return maildir_stamp(mailbox.path)

    # -- updates -----------------------------------------------------------------------

    def update(
        self, conn: sqlite3.Connection, mailbox: MailboxFile, progress: Progress | None = None
    ) -> list[Change]:
        """Bring one mailbox's rows up to date (inside the caller's write transaction)."""
        row = conn.execute(
            "SELECT format, address, stamp, indexed_end FROM mailboxes WHERE entry = ?",
            (mailbox.path.name,),
        ).fetchone()
        known = None if row is None else Known(*row)
        if known is not None and known.format != mailbox.format:
            changes = self.forget(conn, mailbox.path.name)
            known = None
        else:
            changes = []
        if mailbox.format == "mbox":
            return changes + _MboxUpdate(self, conn, mailbox, known, progress).run()
        return changes + _MaildirUpdate(self, conn, mailbox, known, progress).run()

    def forget(self, conn: sqlite3.Connection, entry: str) -> list[Change]:
        """Drop a mailbox that is gone from the index."""
        rows = conn.execute(
            "SELECT rowid, mailbox, id, hidden FROM messages WHERE entry = ?", (entry,)
        ).fetchall()
        delete(conn, [rowid for rowid, _, _, _ in rows])
        conn.execute("DELETE FROM mailboxes WHERE entry = ?", (entry,))
        return grouped("deleted", ((box, id_) for _, box, id_, hidden in rows if not hidden))

    def address(self, mailbox: MailboxFile, first: bytes | None) -> str:
        """The mailbox's address: from its name, else its first message's `Delivered-To:`."""
        address = address_from_name(mailbox.name)
        if address is not None:
            return address
        if first is not None:
            delivered_to = extract(first).delivered_to
            if delivered_to:
                return delivered_to.lower()
        return mailbox.name.lower()


def _save_mailbox(
    conn: sqlite3.Connection, mailbox: MailboxFile, address: str, stamp: str, end: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO mailboxes (entry, format, address, stamp, indexed_end) "
        "VALUES (?, ?, ?, ?, ?)",
        (mailbox.path.name, mailbox.format, address, stamp, end),
    )


def _key_text(key: MboxKey) -> str:
    """An mbox key as the index keeps it: its kind and its bytes in hex (any bytes)."""
    return f"{key.kind}:{key.value.hex()}"


def _key_of(text: str) -> MboxKey:
    kind, _, value = text.partition(":")
    return MboxKey("q" if kind == "q" else "c", bytes.fromhex(value))


class _MboxUpdate:
    """One mbox read into the index: from where it stopped, or again from the start."""

    def __init__(
        self,
        sync: IndexSync,
        conn: sqlite3.Connection,
        mailbox: MailboxFile,
        known: Known | None,
        progress: Progress | None,
    ) -> None:
        self.sync = sync
        self.conn = conn
        self.mailbox = mailbox
        self.entry = mailbox.path.name
        self.known = known
        self.progress = progress
        self.new: list[tuple[str, str]] = []
        self.changed: list[tuple[str, str]] = []
        self.deleted: list[tuple[str, str]] = []

    def run(self) -> list[Change]:
        try:
            snapshot_cm = open_mbox(self.mailbox.path, timeout=self.sync.store.lock_timeout)
            with snapshot_cm as snapshot:
                info = os.fstat(snapshot.fd)
                stamp = _mbox_stamp(
                    file_identity(snapshot.fd), snapshot.size, info.st_mtime_ns,
                    self.sync.root, self.entry,
                )  # fmt: skip
                self._read(snapshot.fd, snapshot.size, stamp)
        except FileNotFoundError:
            return self.sync.forget(self.conn, self.entry)
        return (
            grouped("new", self.new)
            + grouped("changed", self.changed)
            + grouped("deleted", self.deleted)
        )

    def _read(self, fd: int, size: int, stamp: str) -> None:
        changes = pending_changes(self.sync.root, self.entry)
        known = self.known
        start = 0
        if (
            known is not None
            and _same_file(known.stamp, stamp)
            and known.indexed_end <= size
            and _message_starts(fd, known.indexed_end, size)
        ):
            start = known.indexed_end
        existing: dict[str, tuple[int, int, int, int, int]] = {}
        seen_keys: list[MboxKey] = []
        rows = self.conn.execute(
            "SELECT id, rowid, position, length, seen, hidden, key FROM messages "
            "WHERE entry = ? ORDER BY position",
            (self.entry,),
        ).fetchall()
        for id_, rowid, position, length, seen, hidden, key in rows:
            existing[id_] = (rowid, position, length, seen, hidden)
            if start:
                seen_keys.append(_key_of(key))
        address = known.address if known is not None else None
        assigner = IdAssigner(self.mailbox.name, seen_keys)
        present: set[str] = set()
        count = 0
        for stored in iter_mbox(fd, start, size):
            if address is None:
                address = self.sync.address(self.mailbox, stored.raw)
            self._one(
                stored, assigner=assigner, existing=existing, present=present, address=address,
                marks=changes.seen, deletions=changes.delete,
            )  # fmt: skip
            count += 1
            if self.progress is not None and count % 1000 == 0:
                self.progress(1000)
        if self.progress is not None:
            self.progress(count % 1000)
        if address is None:
            address = self.sync.address(self.mailbox, None)
        if start:
            self._apply_log(existing, changes.seen, changes.delete, address)
        else:
            gone = [(id_, row) for id_, row in existing.items() if id_ not in present]
            delete(self.conn, [row[0] for _, row in gone])
            self.deleted += [(address, id_) for id_, row in gone if not row[4]]
        _save_mailbox(self.conn, self.mailbox, address, stamp, size)

    def _one(
        self,
        stored: StoredMessage,
        *,
        assigner: IdAssigner,
        existing: dict[str, tuple[int, int, int, int, int]],
        present: set[str],
        address: str,
        marks: Mapping[str, bool],
        deletions: frozenset[str],
    ) -> None:
        raw = stored.raw
        key = mbox_key(raw)
        id_ = assigner.assign_key(key)
        present.add(id_)
        seen = _seen(id_, raw, marks)
        hidden = id_ in deletions
        length = len(stored.data)
        row = existing.get(id_)
        if row is not None:
            rowid, position, old_length, old_seen, old_hidden = row
            if (position, old_length, old_seen, old_hidden) != (
                stored.offset,
                length,
                seen,
                hidden,
            ):
                self.conn.execute(
                    "UPDATE messages SET position = ?, length = ?, seen = ?, hidden = ?, "
                    "size = ? WHERE rowid = ?",
                    (stored.offset, length, int(seen), int(hidden), stored.size, rowid),
                )
                if bool(old_hidden) != hidden:
                    (self.deleted if hidden else self.new).append((address, id_))
                elif bool(old_seen) != seen and not hidden:
                    self.changed.append((address, id_))
            return
        received = stored.delivered or _EPOCH
        placed = Placed(
            id=id_, entry=self.entry, mailbox=address, position=stored.offset, location="",
            length=length, received=received, size=len(raw), seen=seen, hidden=hidden,
            key=_key_text(key), rank=0,
        )  # fmt: skip
        insert(self.conn, placed, extract(raw))
        if not hidden:
            self.new.append((address, id_))

    def _apply_log(
        self,
        existing: dict[str, tuple[int, int, int, int, int]],
        marks: Mapping[str, bool],
        deletions: frozenset[str],
        address: str,
    ) -> None:
        """The file did not change where the index had read it: only the log may have
        (a mark or deletion made by another process), so its entries are applied."""
        marked = dict(marks)
        for id_ in set(marked) | deletions:
            row = existing.get(id_)
            if row is None:
                continue
            rowid, _, _, old_seen, old_hidden = row
            seen = marked.get(id_, bool(old_seen))
            hidden = id_ in deletions or bool(old_hidden)
            if (seen, hidden) == (bool(old_seen), bool(old_hidden)):
                continue
            self.conn.execute(
                "UPDATE messages SET seen = ?, hidden = ? WHERE rowid = ?",
                (int(seen), int(hidden), rowid),
            )
            if hidden and not old_hidden:
                self.deleted.append((address, id_))
            elif not hidden:
                self.changed.append((address, id_))


def _seen(id_: str, raw: bytes, marks: Mapping[str, bool]) -> bool:
    if id_ in marks:
        return marks[id_]
    return bool(status_seen(raw[: header_end(raw)]))


def _same_file(old_stamp: str, new_stamp: str) -> bool:
    """Whether two mbox stamps name the same file (device and inode)."""
    return old_stamp.split(":")[1:3] == new_stamp.split(":")[1:3]


def _message_starts(fd: int, offset: int, size: int) -> bool:
    """Whether the index's end is still a message boundary: the end of the file, or a
    `From ` line after the empty line that ends the message before it."""
    if offset == size:
        return True
    if offset < 2:
        return offset == 0
    return os.pread(fd, 7, offset - 2) == b"\n\nFrom "


class _MaildirUpdate:
    """One Maildir's listing compared with the index."""

    def __init__(
        self,
        sync: IndexSync,
        conn: sqlite3.Connection,
        mailbox: MailboxFile,
        known: Known | None,
        progress: Progress | None,
    ) -> None:
        self.sync = sync
        self.conn = conn
        self.mailbox = mailbox
        self.entry = mailbox.path.name
        self.known = known
        self.progress = progress

    def run(self) -> list[Change]:
        stamp = maildir_stamp(self.mailbox.path) or "maildir:-:-"
        # Stamped before the listing: what changes during it is found at the next look.
        files = list_maildir(self.mailbox.path)
        rows = self.conn.execute(
            "SELECT key, rowid, id, location, seen FROM messages WHERE entry = ?", (self.entry,)
        ).fetchall()
        existing = {key: (rowid, id_, location, seen) for key, rowid, id_, location, seen in rows}
        address = self.known.address if self.known is not None else None
        new: list[tuple[str, str]] = []
        changed: list[tuple[str, str]] = []
        present: set[str] = set()
        count = 0
        for item in files:
            sub = os.path.basename(os.path.dirname(item.path))
            name = os.path.basename(item.path)
            parsed = parse_name(name)
            present.add(parsed.unique)
            location = f"{sub}/{name}"
            seen = sub == "cur" and parsed.seen
            row = existing.get(parsed.unique)
            if row is not None:
                rowid, id_, old_location, old_seen = row
                if old_location != location:
                    self.conn.execute(
                        "UPDATE messages SET location = ?, seen = ? WHERE rowid = ?",
                        (location, int(seen), rowid),
                    )
                    if bool(old_seen) != seen and address is not None:
                        changed.append((address, id_))
                continue
            stored = item.read()
            if stored is None:
                present.discard(parsed.unique)
                continue  # removed since the listing
            if address is None:
                address = self.sync.address(self.mailbox, stored.data)
            self._insert(
                item, stored=stored, unique=parsed.unique, location=location, seen=seen,
                address=address,
            )  # fmt: skip
            new.append((address, maildir_message_id(self.mailbox.name, name)))
            count += 1
            if self.progress is not None and count % 1000 == 0:
                self.progress(1000)
        if self.progress is not None:
            self.progress(count % 1000)
        if address is None:
            address = self.sync.address(self.mailbox, None)
        gone = [row for key, row in existing.items() if key not in present]
        delete(self.conn, [rowid for rowid, _, _, _ in gone])
        _save_mailbox(self.conn, self.mailbox, address, stamp, 0)
        return (
            grouped("new", new)
            + grouped("changed", changed)
            + grouped("deleted", ((address, id_) for _, id_, _, _ in gone))
        )

    def _insert(
        self,
        item: MaildirFile,
        *,
        stored: StoredMessage,
        unique: str,
        location: str,
        seen: bool,
        address: str,
    ) -> None:
        seconds, micros, _ = item.order
        placed = Placed(
            id=maildir_message_id(self.mailbox.name, unique), entry=self.entry, mailbox=address,
            position=seconds * 1_000_000 + micros, location=location, length=len(stored.data),
            received=item.delivered, size=len(stored.data), seen=seen, hidden=False,
            key=unique, rank=1,
        )  # fmt: skip
        insert(self.conn, placed, extract(stored.data))


def stale_entries(
    sync: IndexSync, conn: sqlite3.Connection, only: Iterable[str] | None
) -> tuple[list[MailboxFile], list[str]]:
    """What a look must update: every mailbox out of date, or those of `only` (entry names)."""
    files = sync.store.mailbox_files()
    if only is not None:
        wanted = set(only)
        files = [mailbox for mailbox in files if mailbox.path.name in wanted]
        changed, _ = sync.stale(conn, files)
        present = {mailbox.path.name for mailbox in files}
        gone = [entry for entry in wanted if entry not in present and _indexed(conn, entry)]
        return changed, gone
    return sync.stale(conn, files)


def _indexed(conn: sqlite3.Connection, entry: str) -> bool:
    return conn.execute("SELECT 1 FROM mailboxes WHERE entry = ?", (entry,)).fetchone() is not None
