"""One Maildir's listing compared with the index, by unique name: new files are read,
renamed ones (a flag changed) updated, missing ones dropped."""

from __future__ import annotations

import os
import time
from typing import Final

from ..identity import maildir_message_id
from ..maildir_flags import parse_name
from ..maildir_layout import CUR
from .changes import Change, grouped
from .extract import extract
from .rows import Placed, delete, insert
from .scan import StoredMessage
from .scan_maildir import MaildirFile, list_maildir
from .streamed import HEAD_BYTES, READ_CHUNK, extract_streamed
from .sync_base import (
    MailboxUpdate,
    changed_since,
    mailbox_address,
    maildir_stamp,
    save_mailbox,
)

HELD_BACK: Final = "maildir:held-back"
"""The stamp of a Maildir listed while a delivery into it was not committed: no Maildir
has it, so the next look lists the Maildir again."""
RECENT: Final = "maildir:recent"
"""The stamp of a Maildir whose `new/` or `cur/` changed just before the listing: no
Maildir has it either (see `RACY_NS`)."""
RACY_NS: Final = 2_000_000_000
"""How recent a change of `new/` or `cur/` makes a stamp untrustworthy. A directory's
mtime moves in steps of the file system's clock (a jiffy on many kernels, seconds on
some network and FAT file systems): a file added in the same step as the listing, just
after it, leaves the mtime as the stamp has it, and the look that trusted the stamp would
never list that file. Stamps are trusted only once their mtimes are older than this."""


class MaildirUpdate(MailboxUpdate):
    """One Maildir's listing compared with the index."""

    def run(self) -> list[Change]:
        stamp = maildir_stamp(self.mailbox.path) or "maildir:-:-"
        if changed_since(self.mailbox.path, time.time_ns() - RACY_NS):
            stamp = RECENT
        # Stamped before the listing: what changes during it is found at the next look.
        listing = list_maildir(self.mailbox.path)
        files = listing.files
        if listing.held_back:
            # The stamp may already count a copy held back: saved, it would hide that copy
            # from every later look once its delivery commits. This one makes them list.
            stamp = HELD_BACK
        rows = self.conn.execute(
            "SELECT key, rowid, id, location, seen FROM messages WHERE entry = ?", (self.entry,)
        ).fetchall()
        existing = {key: (rowid, id_, location, seen) for key, rowid, id_, location, seen in rows}
        address = self.known.address if self.known is not None else None
        new: list[tuple[str, str]] = []
        changed: list[tuple[str, str]] = []
        present: set[str] = set()
        for item in files:
            sub = os.path.basename(os.path.dirname(item.path))
            name = os.path.basename(item.path)
            parsed = parse_name(name)
            present.add(parsed.unique)
            location = f"{sub}/{name}"
            seen = sub == CUR and parsed.seen
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
            stored = item.read(keep=HEAD_BYTES)
            if stored is None:
                present.discard(parsed.unique)
                continue  # removed since the listing
            if address is None:
                address = mailbox_address(self.mailbox, stored.data)
            self._insert(
                item, stored=stored, unique=parsed.unique, location=location, seen=seen,
                address=address,
            )  # fmt: skip
            new.append((address, maildir_message_id(self.mailbox.name, name)))
            self.read_one()
        self.read_all()
        if address is None:
            address = mailbox_address(self.mailbox, None)
        gone = [row for key, row in existing.items() if key not in present]
        delete(self.conn, [rowid for rowid, _, _, _ in gone])
        save_mailbox(self.conn, self.mailbox, address, stamp, 0)
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
        if stored.complete:
            found, size = extract(stored.data), len(stored.data)
        else:
            found, size = extract_streamed(stored.data, item.chunks(READ_CHUNK))
        placed = Placed(
            id=maildir_message_id(self.mailbox.name, unique), entry=self.entry, mailbox=address,
            position=seconds * 1_000_000 + micros, location=location, length=size,
            received=item.delivered, size=size, seen=seen, hidden=False, key=unique, rank=1,
        )  # fmt: skip
        insert(self.conn, placed, found, self.words)
