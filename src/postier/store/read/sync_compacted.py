"""The index moved to an mbox's compacted file from what the compaction says it did
(`mbox_compact.CompactResult`), in one transaction, without reading the file again.

A compaction copies every message but the deleted ones, in order, so it knows where each
one went; reading 100,000 messages again to find that out took seconds and held the
index's write lock all along, so every reader's next change waited. The rows move only
when the index had read the old file as the compaction saw it: the stamp names that
file, the index stopped at one of its message boundaries, and it holds exactly one row
for each message before that point. Anything else (a reader that already read the new
file, an index behind or ahead of the file in some other way, twins whose IDs shift) is
left to an ordinary look, which reads the file (`sync_mbox`).

The mailbox's stamp is then one no file has, at the new file's identity, with the
index's end moved to the matching boundary of the new file: the next look reads only
what was appended since, and applies what the log still holds (the changes made while
the compaction ran). A crash before the commit leaves the old stamp, which names a file
that is gone, and the next look reads the new file from the start: slow, never wrong.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from typing import Final

from .changes import Change, grouped
from .mbox_compact import CompactResult, Placement
from .rows import delete

MOVED_STAMP: Final = "moved"
"""The log part of the stamp saved here: no log has it, so the next look reads the log."""


def moved_to_compacted(
    conn: sqlite3.Connection, entry: str, result: CompactResult
) -> list[Change] | None:
    """Move the mbox `entry`'s rows to where `result` put their messages (inside the
    caller's write transaction); None when the index cannot be moved so and the file
    must be read instead. Returns what the index showed that the compaction removed."""
    if result.before is None or result.after is None or result.renumbered:
        return None
    row = conn.execute(
        "SELECT address, stamp, indexed_end FROM mailboxes WHERE entry = ?", (entry,)
    ).fetchone()
    if row is None:
        return None
    address, stamp, indexed_end = row
    if stamp.split(":")[1:3] != [str(n) for n in result.before]:
        return None  # not the file compacted: already read anew, or never read
    placed = result.placed
    read = _read_up_to(placed, indexed_end, result.copied)
    if read is None or _rows_of(conn, entry) != read:
        return None
    changes = _moved(conn, address, placed[:read])
    end = next((p.after for p in placed[read:] if p.after is not None), result.size)
    dev, ino = result.after
    conn.execute(
        "UPDATE mailboxes SET stamp = ?, indexed_end = ? WHERE entry = ?",
        (f"mbox:{dev}:{ino}:{end}:0:{MOVED_STAMP}", end, entry),
    )
    return changes


def _read_up_to(placed: tuple[Placement, ...], indexed_end: int, copied: int) -> int | None:
    """How many messages of the old file the index had read (those before its end);
    None when its end was no message boundary of that file."""
    starts = [p.before for p in placed]
    count = bisect_left(starts, indexed_end)
    if indexed_end == copied and count == len(placed):
        return count
    if count < len(placed) and starts[count] == indexed_end:
        return count
    return None


def _rows_of(conn: sqlite3.Connection, entry: str) -> int:
    (count,) = conn.execute("SELECT count(*) FROM messages WHERE entry = ?", (entry,)).fetchone()
    return int(count)


def _moved(conn: sqlite3.Connection, address: str, placed: tuple[Placement, ...]) -> list[Change]:
    """Update the rows of the kept messages that moved or changed, and drop the others."""
    conn.executemany(
        "UPDATE messages SET position = ?, length = length + ?, size = size + ?, "
        "seen = coalesce(?, seen) WHERE id = ?",
        (
            (p.after, p.grown, p.grown, None if p.seen is None else int(p.seen), p.id)
            for p in placed
            if p.after is not None and (p.after != p.before or p.grown or p.seen is not None)
        ),
    )
    gone = [p.id for p in placed if p.after is None]
    found: list[tuple[int, str, int]] = []
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        found += conn.execute(
            f"SELECT rowid, id, hidden FROM messages WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
    delete(conn, [rowid for rowid, _, _ in found])
    return grouped("deleted", ((address, id_) for _, id_, hidden in found if not hidden))
