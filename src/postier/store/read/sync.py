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

import sqlite3
from collections.abc import Iterable

from ..index.words import KnownWords
from .changes import Change
from .mailboxes import MailboxFile, Store
from .rows import BulkRows
from .sync_base import Known, Progress, forget, log_stamps, maildir_stamp, mbox_stamp
from .sync_maildir import MaildirUpdate
from .sync_mbox import MboxUpdate


class IndexSync:
    """Reads what changed in a store's mailboxes into its index."""

    def __init__(self, store: Store, words: KnownWords) -> None:
        self.store = store
        self.root = store.root
        self.words = words
        """The words the index is known to hold (its database's: `IndexDatabase`)."""

    # -- the cheap look ----------------------------------------------------------------

    def stale(
        self, conn: sqlite3.Connection, files: list[MailboxFile]
    ) -> tuple[list[MailboxFile], list[str]]:
        """The mailboxes whose stamp differs from the index's, and the entries the index
        has that are no longer there."""
        known = dict(conn.execute("SELECT entry, stamp FROM mailboxes").fetchall())
        logs = log_stamps(self.root) if any(m.format == "mbox" for m in files) else {}
        changed = []
        for mailbox in files:
            entry = mailbox.path.name
            stamp = known.pop(entry, None)
            if stamp is None or stamp != self._stamp(mailbox, logs):
                changed.append(mailbox)
        return changed, list(known)

    def _stamp(self, mailbox: MailboxFile, logs: dict[str, str]) -> str | None:
        if mailbox.format == "mbox":
            return mbox_stamp(mailbox.path, self.root, mailbox.path.name, logs)
        return maildir_stamp(mailbox.path)

    # -- updates -----------------------------------------------------------------------

    def update(
        self,
        conn: sqlite3.Connection,
        mailbox: MailboxFile,
        progress: Progress | None = None,
        bulk: BulkRows | None = None,
    ) -> list[Change]:
        """Bring one mailbox's rows up to date (inside the caller's write transaction);
        `bulk`: a reindex from scratch's batches (the index holds nothing of the mailbox)."""
        row = conn.execute(
            "SELECT format, address, stamp, indexed_end FROM mailboxes WHERE entry = ?",
            (mailbox.path.name,),
        ).fetchone()
        known = None if row is None else Known(*row)
        if known is not None and known.format != mailbox.format:
            changes = forget(conn, mailbox.path.name)
            known = None
        else:
            changes = []
        if mailbox.format == "mbox":
            update: MboxUpdate | MaildirUpdate = MboxUpdate(
                self.root,
                self.store.lock_timeout,
                conn,
                mailbox,
                known=known,
                progress=progress,
                words=self.words,
                bulk=bulk,
            )
        else:
            update = MaildirUpdate(
                self.root,
                self.store.lock_timeout,
                conn,
                mailbox,
                known=known,
                progress=progress,
                words=self.words,
                bulk=bulk,
            )
        return changes + update.run()

    def forget(self, conn: sqlite3.Connection, entry: str) -> list[Change]:
        """Drop a mailbox that is gone from the index."""
        return forget(conn, entry)


def stale_entries(
    sync: IndexSync, conn: sqlite3.Connection, only: Iterable[str] | None
) -> tuple[list[MailboxFile], list[str]]:
    """What a look must update: every mailbox out of date, or those of `only` (entry names)."""
    if only is not None:
        wanted = set(only)
        files = [found for entry in wanted if (found := sync.store.mailbox_file(entry))]
        changed, _ = sync.stale(conn, files)
        present = {mailbox.path.name for mailbox in files}
        gone = [entry for entry in wanted if entry not in present and _indexed(conn, entry)]
        return changed, gone
    return sync.stale(conn, sync.store.mailbox_files())


def _indexed(conn: sqlite3.Connection, entry: str) -> bool:
    return conn.execute("SELECT 1 FROM mailboxes WHERE entry = ?", (entry,)).fetchone() is not None
