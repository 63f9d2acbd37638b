"""What a reader changes in the store: read state and deletion, in each format's own way.

- Maildir: read state is the `S` flag of the file's name (`maildir_flags`: a rename, as
  mutt and Dovecot do it); deleting is unlinking the file (and syncing its directory).
- mbox: a change is first written to the mailbox's durable log (`mbox_changes`) and into
  the index, so that every reader shows it at once. A deletion reaches the file at the
  next compaction (`mbox_compact`: the message left out), which `wait` runs before
  returning and which otherwise runs in the background within seconds (`compactor`),
  paying for one rewrite of a large mbox for many deletions; the index then follows the
  messages to their new places without reading the file again (`sync_compacted`).
  Read state alone never rewrites an mbox (reading one message of 100,000 must not copy
  them all): it stays in the log, which every postier reader applies, until a compaction
  writes it into the messages' `Status:` headers (`RO`), where mutt and Thunderbird read it.

Each change is announced to the reader's subscribers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from .. import fileio
from ..index.database import IndexDatabase
from ..maildir_flags import MessageNotFoundError, find_message, mark_seen, mark_unseen, parse_name
from ..maildir_layout import CUR
from .changes import Change, grouped
from .compactor import BackgroundCompactor
from .errors import NoSuchMailbox
from .lookup import Located, locate_address
from .mailboxes import Store
from .mbox_changes import Logged, record_changes
from .mbox_compact import CompactResult, compact
from .rows import delete as delete_rows
from .sync_base import own_record_applied
from .sync_compacted import moved_to_compacted


class Edited(Protocol):
    """What the editor needs of its reader."""

    root: Path
    fsync: bool
    db: IndexDatabase
    store: Store

    def locate(self, ref: str) -> Located: ...

    def copies(self, ref: str) -> list[Located]: ...

    def publish(self, changes: Iterable[Change]) -> None: ...

    def sync(self, only: Iterable[str] | None = None) -> list[Change]: ...


def _touched(named: dict[str, list[str]], copies: set[str]) -> list[str]:
    """The refs of `named` that named one of `copies`."""
    return [ref for ref, ids in named.items() if any(id_ in copies for id_ in ids)]


class Editor:
    """Marks and deletes messages for one reader."""

    def __init__(self, reader: Edited) -> None:
        self.reader = reader
        self._compactor: BackgroundCompactor | None = None
        self._lock = threading.Lock()

    # -- read state ------------------------------------------------------------------------

    def _named(self, ids: list[str]) -> tuple[list[Located], dict[str, list[str]]]:
        """The copies `ids` name (a delivery's ID names all of its, a copy's ID that
        copy), each once; and the copy IDs each ref named. Every ref is resolved before
        anything changes: one that names nothing raises NoSuchMessage."""
        copies: dict[str, Located] = {}
        named: dict[str, list[str]] = {}
        for ref in dict.fromkeys(ids):
            found = self.reader.copies(ref)
            named[ref] = [item.id for item in found]
            for item in found:
                copies.setdefault(item.id, item)
        return list(copies.values()), named

    def mark(self, ids: list[str], *, read: bool) -> list[str]:
        """Returns the refs of `ids` (a delivery's or a copy's) whose state changed: a
        delivery's when any of its copies changed."""
        found, named = self._named(ids)
        todo = [item for item in found if item.summary.read != read]
        mboxes: dict[str, list[Located]] = {}
        for item in todo:
            if item.in_mbox:
                mboxes.setdefault(item.entry, []).append(item)
            else:
                self._mark_maildir(item, read)
        for entry, items in mboxes.items():
            logged = record_changes(
                self.reader.root, entry, seen={item.id: read for item in items},
                fsync=self.reader.fsync,
            )  # fmt: skip
            with self.reader.db.writing() as conn:
                conn.executemany(
                    "UPDATE messages SET seen = ? WHERE id = ?", [(int(read), i.id) for i in items]
                )
                self._applied(conn, entry, logged)
        self.reader.publish(grouped("changed", ((i.summary.mailbox, i.id) for i in todo)))
        return _touched(named, {item.id for item in todo})

    def _applied(self, conn: sqlite3.Connection, entry: str, logged: Logged | None) -> None:
        """The index holds our record now, as a look would have read it from the log: its
        stamp says so, or every reader of the store would read the log again at its next
        look (and a look that meets the mbox itself changed reads that too)."""
        if logged is not None:
            own_record_applied(conn, self.reader.root, entry, logged)

    def _mark_maildir(self, item: Located, read: bool) -> None:
        maildir = self.reader.root / item.entry
        change = mark_seen if read else mark_unseen
        try:
            path = change(maildir, item.location, fsync=self.reader.fsync)
        except MessageNotFoundError:
            return  # deleted meanwhile: the next look drops it
        location = f"{path.parent.name}/{path.name}"
        seen = path.parent.name == CUR and parse_name(path.name).seen
        with self.reader.db.writing() as conn:
            conn.execute(
                "UPDATE messages SET location = ?, seen = ? WHERE id = ?",
                (location, int(seen), item.id),
            )

    # -- deletion --------------------------------------------------------------------------

    def delete(self, ids: list[str], *, wait: bool) -> list[str]:
        """Returns the refs of `ids` that are gone: a delivery's with all its copies."""
        found, named = self._named(ids)
        return _touched(named, set(self._delete(found, wait=wait)))

    def _delete(self, found: list[Located], *, wait: bool) -> list[str]:
        mboxes: dict[str, list[Located]] = {}
        removed: list[Located] = []
        for item in found:
            if item.in_mbox:
                mboxes.setdefault(item.entry, []).append(item)
            elif self._unlink(item):
                removed.append(item)
        for entry, items in mboxes.items():
            logged = record_changes(
                self.reader.root, entry, delete=[item.id for item in items],
                fsync=self.reader.fsync,
            )  # fmt: skip
            with self.reader.db.writing() as conn:
                conn.executemany(
                    "UPDATE messages SET hidden = 1 WHERE id = ?", [(item.id,) for item in items]
                )
                self._applied(conn, entry, logged)
            removed += items
        self.reader.publish(grouped("deleted", ((i.summary.mailbox, i.id) for i in removed)))
        for entry in mboxes:
            self._written_back(entry, wait)
        return [item.id for item in removed]

    def _unlink(self, item: Located) -> bool:
        maildir = self.reader.root / item.entry
        path: Path | None = maildir / item.location
        for _ in range(2):
            assert path is not None
            try:
                os.unlink(path)
            except FileNotFoundError:
                # Renamed by a mail client since the index saw it: found by its unique name.
                path = find_message(maildir, parse_name(os.path.basename(item.location)).unique)
                if path is None:
                    break
                continue
            if self.reader.fsync:
                fileio.fsync_dir(path.parent)
            break
        with self.reader.db.writing() as conn:
            rows = conn.execute("SELECT rowid FROM messages WHERE id = ?", (item.id,)).fetchall()
            delete_rows(conn, [rowid for (rowid,) in rows])
        return True

    def delete_mailbox(self, address: str, *, wait: bool) -> int:
        wanted = locate_address(address)
        self.reader.sync()
        with self.reader.db.reading() as conn:
            known = conn.execute(
                "SELECT 1 FROM mailboxes WHERE address = ? LIMIT 1", (wanted,)
            ).fetchone()
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM messages WHERE mailbox = ? AND hidden = 0", (wanted,)
            )]  # fmt: skip
        if known is None:
            raise NoSuchMailbox(f"no mailbox for {wanted} in the store")
        return len(self.delete(ids, wait=wait))

    def delete_all(self, *, wait: bool) -> int:
        self.reader.sync()
        with self.reader.db.reading() as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM messages WHERE hidden = 0")]
        return len(self.delete(ids, wait=wait))

    # -- writing mbox changes back ---------------------------------------------------------

    def _written_back(self, entry: str, wait: bool) -> None:
        if wait:
            result = compact(
                self.reader.root, entry, fsync=self.reader.fsync,
                lock_timeout=self.reader.store.lock_timeout,
            )  # fmt: skip
            self._compacted(entry, result)
        else:
            self.compactor().request(entry)

    def _compacted(self, entry: str, result: CompactResult) -> None:
        """After a compaction the file is another: the index's rows move to where the
        compaction put their messages (`sync_compacted`), then a look reads what came
        since (deliveries, the changes logged meanwhile); the whole file only when the
        rows could not be moved so."""
        with self.reader.db.writing() as conn:
            changes = moved_to_compacted(conn, entry, result)
        if changes:
            self.reader.publish(changes)
        self.reader.sync([entry])

    def compactor(self) -> BackgroundCompactor:
        """The background compactor, started on first need."""
        with self._lock:
            if self._compactor is None:
                self._compactor = BackgroundCompactor(
                    self.reader.root, fsync=self.reader.fsync, on_done=self._compacted
                )
            return self._compactor

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every background compaction asked for is done."""
        if self._compactor is not None:
            self._compactor.flush(timeout)

    def close(self) -> None:
        with self._lock:
            compactor, self._compactor = self._compactor, None
        if compactor is not None:
            compactor.close()
