"""One mbox read into the index: from where the index stopped when the file only grew at
its end (what a delivery does), else again from the start, the IDs telling which
messages the index has already (only the new ones are parsed)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Final

from ..identity import IdAssigner, MboxKey, delivery_id, mbox_key
from .changes import Change, grouped
from .extract import Extracted, extract
from .mbox_changes import pending_changes
from .mbox_compact import status_seen
from .raw import CHUNK as STREAM_CHUNK
from .raw import MboxMessageStream
from .rows import Placed, delete, insert
from .scan import StoredMessage, iter_mbox
from .snapshot import file_identity, open_mbox
from .streamed import HEAD_BYTES, READ_CHUNK, extract_streamed
from .summary import header_end
from .sync_base import MailboxUpdate, forget, mailbox_address, mbox_stamp_of, save_mailbox

_EPOCH: Final = datetime.fromtimestamp(0, UTC)
_MAX_LISTED: Final = 500
"""IDs named in one query; a log naming more has all the mailbox's rows read."""


def _chunks(fd: int, stored: StoredMessage) -> Iterator[bytes]:
    """The bytes of a message too long to hold, unquoted, a chunk at a time."""
    with MboxMessageStream(os.dup(fd), stored.offset, stored.length) as stream:
        while chunk := stream.read(STREAM_CHUNK):
            yield chunk


def _key_text(key: MboxKey) -> str:
    """An mbox key as the index keeps it: its kind and its bytes in hex (any bytes)."""
    return f"{key.kind}:{key.value.hex()}"


class MboxUpdate(MailboxUpdate):
    """One mbox read into the index: from where it stopped, or again from the start."""

    def run(self) -> list[Change]:
        try:
            snapshot_cm = open_mbox(self.mailbox.path, timeout=self.lock_timeout)
            with snapshot_cm as snapshot:
                info = os.fstat(snapshot.fd)
                stamp = mbox_stamp_of(
                    file_identity(snapshot.fd), snapshot.size, info.st_mtime_ns,
                    self.root, self.entry,
                )  # fmt: skip
                self._read(snapshot.fd, snapshot.size, stamp)
        except FileNotFoundError:
            return forget(self.conn, self.entry)
        return (
            grouped("new", self.new)
            + grouped("changed", self.changed)
            + grouped("deleted", self.deleted)
        )

    def _read(self, fd: int, size: int, stamp: str) -> None:
        changes = pending_changes(self.root, self.entry)
        known = self.known
        start = 0
        if (
            known is not None
            and _same_file(known.stamp, stamp)
            and known.indexed_end <= size
            and _message_starts(fd, known.indexed_end, size)
        ):
            start = known.indexed_end
        if start:
            # Only appended: the rows the log names are the only old ones that may change,
            # and an appended twin of an old message is given its ordinal by a count.
            existing = self._rows(set(changes.seen) | changes.delete)
            assigner = IdAssigner(self.mailbox.name, count_before=self._count_before)
        else:
            existing = {} if self.bulk is not None else self._rows(None)
            assigner = IdAssigner(self.mailbox.name)
        address = known.address if known is not None else None
        present: set[str] = set()
        for stored in iter_mbox(fd, start, size, chunk=READ_CHUNK, keep=HEAD_BYTES):
            if address is None:
                address = mailbox_address(self.mailbox, stored.raw)
            self._one(
                stored, fd, assigner=assigner, existing=existing, present=present, address=address,
                marks=changes.seen, deletions=changes.delete,
            )  # fmt: skip
            self.read_one()
        self.read_all()
        if address is None:
            address = mailbox_address(self.mailbox, None)
        if start:
            self._apply_log(existing, changes.seen, changes.delete, address)
        else:
            gone = [(id_, row) for id_, row in existing.items() if id_ not in present]
            delete(self.conn, [row[0] for _, row in gone])
            self.deleted += [(address, id_) for id_, row in gone if not row[4]]
        save_mailbox(self.conn, self.mailbox, address, stamp, size)

    def _rows(self, ids: set[str] | None) -> dict[str, tuple[int, int, int, int, int]]:
        """What the index holds of this mbox's messages (those of `ids`, or all):
        rowid, position, length, seen, hidden by ID."""
        query = "SELECT id, rowid, position, length, seen, hidden FROM messages WHERE entry = ?"
        params: list[str] = [self.entry]
        if ids is not None:
            if not ids:
                return {}
            if len(ids) <= _MAX_LISTED:
                # `+entry`: the IDs' own index finds the few rows; SQLite would otherwise walk
                # the mailbox's by entry, every row of a large mbox for a log of one line.
                query = query.replace("WHERE entry", "WHERE +entry")
                query += f" AND id IN ({', '.join('?' * len(ids))})"
                params += sorted(ids)
        rows = self.conn.execute(query, params)
        return {id_: (rowid, *rest) for id_, rowid, *rest in rows}

    def _count_before(self, key: MboxKey) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM messages WHERE entry = ? AND key = ?",
            (self.entry, _key_text(key)),
        ).fetchone()
        return int(row[0])

    def _one(
        self,
        stored: StoredMessage,
        fd: int,
        *,
        assigner: IdAssigner,
        existing: dict[str, tuple[int, int, int, int, int]],
        present: set[str],
        address: str,
        marks: Mapping[str, bool],
        deletions: frozenset[str],
    ) -> None:
        raw = stored.raw  # all of it, or its start when it is too long to hold
        key = mbox_key(raw if stored.complete else _chunks(fd, stored))
        id_ = assigner.assign_key(key)
        present.add(id_)
        seen = _seen(id_, raw, marks)
        hidden = id_ in deletions
        length = stored.length
        row = existing.get(id_)
        if row is not None:
            rowid, position, old_length, old_seen, old_hidden = row
            if (position, old_length, old_seen, old_hidden) != (
                stored.offset,
                length,
                seen,
                hidden,
            ):
                size = stored.size if stored.complete else sum(map(len, _chunks(fd, stored)))
                self.conn.execute(
                    "UPDATE messages SET position = ?, length = ?, seen = ?, hidden = ?, "
                    "size = ? WHERE rowid = ?",
                    (stored.offset, length, int(seen), int(hidden), size, rowid),
                )
                if bool(old_hidden) != hidden:
                    (self.deleted if hidden else self.new).append((address, id_))
                elif bool(old_seen) != seen and not hidden:
                    self.changed.append((address, id_))
            return
        received = stored.delivered or _EPOCH
        found: Extracted | None = None
        if not stored.complete:
            found, size = extract_streamed(raw, _chunks(fd, stored))
        elif self.bulk is None:
            found, size = extract(raw), len(raw)
        else:
            size = len(raw)  # extracted by `bulk`, in another process when it has any
        placed = Placed(
            id=id_, entry=self.entry, mailbox=address, position=stored.offset, location="",
            length=length, received=received, size=size, seen=seen, hidden=hidden,
            key=_key_text(key), rank=0, delivery=delivery_id(key.value) if key.kind == "q" else "",
        )  # fmt: skip
        if found is None:
            assert self.bulk is not None
            self.bulk.add_raw(placed, raw)
        else:
            insert(self.conn, placed, found, self.words, self.bulk)
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
