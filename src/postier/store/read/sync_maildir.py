"""One Maildir's listing compared with the index, by unique name: new files are read,
renamed ones (a flag changed) updated, missing ones dropped."""

from __future__ import annotations

import os
import time
from typing import Final

from ..identity import delivery_id, maildir_message_id, postier_queue_id
from ..maildir_flags import parse_name
from ..maildir_layout import CUR
from .changes import Change, grouped
from .extract import Extracted, extract
from .rows import Placed, delete, insert
from .scan import StoredMessage
from .scan_maildir import MaildirFile, describe, list_locations
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
        locations = list_locations(self.mailbox.path)
        rows = (
            []
            if self.bulk is not None
            else self.conn.execute(
                "SELECT key, rowid, id, location, seen FROM messages WHERE entry = ?",
                (self.entry,),
            ).fetchall()
        )
        by_location = {row[3]: row for row in rows}
        listed = set(locations)
        # Most names are where the index has them: only the others are looked at.
        moved_or_new = [location for location in locations if location not in by_location]
        missing = {row[0]: row for location, row in by_location.items() if location not in listed}
        address = self.known.address if self.known is not None else None
        changed: list[tuple[str, str]] = []
        arrived: list[str] = []
        for location in moved_or_new:
            sub, _, name = location.partition("/")
            parsed = parse_name(name)
            row = missing.pop(parsed.unique, None)
            if row is None:
                arrived.append(location)
                continue
            # Renamed: a flag changed (or a mail client moved it from new/ to cur/).
            _, rowid, id_, _, old_seen = row
            seen = sub == CUR and parsed.seen
            self.conn.execute(
                "UPDATE messages SET location = ?, seen = ? WHERE rowid = ?",
                (location, int(seen), rowid),
            )
            if bool(old_seen) != seen and address is not None:
                changed.append((address, id_))
        # A name the index has elsewhere too (a copy in both new/ and cur/) is no new one.
        indexed = {row[0] for row in rows}
        listing = describe(
            self.mailbox.path,
            [loc for loc in arrived if parse_name(loc.partition("/")[2]).unique not in indexed],
        )
        if listing.held_back:
            # The stamp may already count a copy held back: saved, it would hide that copy
            # from every later look once its delivery commits. This one makes them list.
            stamp = HELD_BACK
        new: list[tuple[str, str]] = []
        for item in listing.files:
            name = os.path.basename(item.path)
            sub = os.path.basename(os.path.dirname(item.path))
            parsed = parse_name(name)
            if parsed.unique in indexed:
                continue  # the same message in new/ and in cur/: indexed once
            stored = item.read(keep=HEAD_BYTES)
            if stored is None:
                continue  # removed since the listing
            indexed.add(parsed.unique)
            if address is None:
                address = mailbox_address(self.mailbox, stored.data)
            id_ = self._insert(
                item, stored=stored, unique=parsed.unique, location=f"{sub}/{name}",
                seen=sub == CUR and parsed.seen, address=address,
            )  # fmt: skip
            new.append((address, id_))
            self.read_one()
        self.read_all()
        if address is None:
            address = mailbox_address(self.mailbox, None)
        gone = list(missing.values())
        delete(self.conn, [row[1] for row in gone])
        save_mailbox(self.conn, self.mailbox, address, stamp, 0)
        return (
            grouped("new", new)
            + grouped("changed", changed)
            + grouped("deleted", ((address, row[2]) for row in gone))
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
    ) -> str:
        """Index one new file; returns its ID."""
        seconds, micros, _ = item.order
        found: Extracted | None = None
        if not stored.complete:
            found, size = extract_streamed(stored.data, item.chunks(READ_CHUNK))
        elif self.bulk is None:
            found, size = extract(stored.data), len(stored.data)
        else:
            size = len(stored.data)  # extracted by `bulk`, in another process when it has any
        queue_id = postier_queue_id(stored.data, whole=stored.complete)
        id_ = maildir_message_id(self.mailbox.name, unique)
        placed = Placed(
            id=id_, entry=self.entry, mailbox=address,
            position=seconds * 1_000_000 + micros, location=location, length=size,
            received=item.delivered, size=size, seen=seen, hidden=False, key=unique, rank=1,
            delivery="" if queue_id is None else delivery_id(queue_id),
        )  # fmt: skip
        if found is None:
            assert self.bulk is not None
            self.bulk.add_raw(placed, stored.data)
        else:
            insert(self.conn, placed, found, self.words, self.bulk)
        return id_
