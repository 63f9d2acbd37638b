"""What the open sockets of `/api/events` were told, and the frames that bring them up
to date with the store: Mailpit's live events, one JSON text per frame, made once (on
the `Mail` threads) for every socket.

Mailpit's frames are `{"Type": T, "Data": D}`:
- `new`: D is the message's summary, as `/api/v1/messages` lists it;
- `update`: `{"ID", "Read"}`, a message whose read state changed, or `{"ID", "Tags"}`,
  one whose tags did (set, renamed or taken off through this process);
- `delete`: `{"ID"}`, a message gone;
- `truncate`: D is null, every message is gone;
- `stats`: `{"Total", "Unread", "Version"}`, the store's counts after the changes.

Two sources say what changed: the `Change`s this process's reader makes or finds, at
once; and the index itself, which other processes (the CLI, another worker) change
behind this reader's back, looked at now and then (`looked`): each file's line of
`mailboxes` (its stamp moves with every change written to it) and of `counts` is
compared, and only a file whose line moved is read again, and of it only the messages
that differ from what the sockets were told (new, read, unread or gone) are made into
frames. Either way each message is compared with what the sockets were last told of it
(`shown`), so a change is told once, whichever source saw it first.

The frames speak of all mail's entries, as `/api/v1/messages` lists them (Mailpit has
no other list): a delivery to several recipients is one entry under its `d` ID, a new
one when its first copy arrives, an `update` when its read state (unread while a copy
is) changes, a `delete` when its last copy goes; a copy that leaves while others stay
changes no entry but its read state. The store's changes name copies: each is taken to
its entry, and each entry is compared with what the sockets were told of it.

A batch after which the store is empty becomes one `truncate` (what Mailpit sends when
everything is deleted), however many messages went. A batch of more changes than a
socket may hold unsent is not made into frames at all (`TooMany`): every socket would
be dropped by it anyway, and the page reloads its lists when it reconnects.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from postier.store import is_delivery_id
from postier.store.read import Change, all_mail_counts, entries_located

from . import shapes
from .mail import Mail

Line = tuple[object, ...]
_BATCH = 500
"""IDs asked of SQLite at a time (its limit on parameters is well above)."""


class TooMany(Exception):  # noqa: N818 - a verdict, not a failure
    """The batch holds more changes than a socket could be sent: reload, do not follow."""


def frame(kind: str, data: Any) -> str:
    return json.dumps({"Type": kind, "Data": data}, separators=(",", ":"))


class Frames:
    """The store as the sockets know it: each message's read state, by file."""

    def __init__(self, mail: Mail, version: str, cap: int) -> None:
        self.mail = mail
        self.version = version
        self.cap = cap
        self.shown: dict[str, dict[str, bool]] = {}
        """File (the index's entry) → copy ID → read: the copies the sockets know of."""
        self._entry_of: dict[str, str] = {}
        self._key_of: dict[str, str] = {}
        """Copy ID → its entry of all mail: its delivery's ID, or its own."""
        self.entries: dict[str, bool] = {}
        """All mail's entries the sockets know of → read."""
        self._lines: dict[str, Line] = {}
        self._lock = threading.RLock()
        with mail.reader.db.reading() as conn:
            self._lines = _lines(conn)
            for id_, entry, seen, delivery in conn.execute(
                "SELECT id, entry, seen, delivery FROM messages WHERE hidden = 0"
            ):
                key = str(delivery) or str(id_)
                self._show(str(id_), str(entry), bool(seen), key)
                self.entries[key] = self.entries.get(key, True) and bool(seen)

    def told(self, changes: Sequence[Change]) -> list[str]:
        """The frames of the changes this process's reader announced (none, and no
        `stats`, when the sockets were told of them already); tags changed first."""
        tagged = [id_ for change in changes if change.kind == "tagged" for id_ in change.ids]
        ids = [id_ for change in changes if change.kind != "tagged" for id_ in change.ids]
        return [*self._tag_frames(tagged), *self._frames(list(dict.fromkeys(ids)))]

    def _tag_frames(self, ids: list[str]) -> list[str]:
        """Mailpit's `update` of tags, `{"ID", "Tags"}`, for each entry the sockets know
        whose copies' tags changed (another process's tag changes are not seen)."""
        with self._lock:
            keys = list(dict.fromkeys(self._key_of[id_] for id_ in ids if id_ in self._key_of))
        if len(keys) >= self.cap:
            raise TooMany(f"{len(keys)} changes at once")
        tags = self.mail.reader.tags(keys) if keys else {}
        return [frame("update", {"ID": key, "Tags": tags.get(key, [])}) for key in keys]

    def looked(self) -> list[str]:
        """The frames of what the index holds that the sockets were not told of (none
        when nothing moved)."""
        with self._lock, self.mail.reader.db.reading() as conn:
            lines = _lines(conn)
            moved = {e for e in {*lines, *self._lines} if lines.get(e) != self._lines.get(e)}
            self._lines = lines
            ids: list[str] = []
            for entry in moved:
                ids += _moved(conn, entry, self.shown.get(entry, {}))
        return self._frames(list(dict.fromkeys(ids)))

    # -- on the lock -----------------------------------------------------------------------

    def _frames(self, ids: list[str]) -> list[str]:
        with self._lock, self.mail.reader.db.reading() as conn:
            now = _states(conn, ids)
            keys: list[str] = []
            for id_ in ids:
                if id_ in now:
                    entry, seen, key = now[id_]
                    self._show(id_, entry, seen, key)
                elif self._was(id_) is not None:
                    key = self._key_of[id_]
                    self._hide(id_)
                else:
                    continue  # gone before the sockets were told of it
                keys.append(key)
            result: list[str] = []
            arrived: list[str] = []
            gone = False
            for key in dict.fromkeys(keys):
                was, read = self.entries.get(key), _entry_read(conn, key)
                if read is None:
                    if was is not None:
                        del self.entries[key]
                        result.append(frame("delete", {"ID": key}))
                        gone = True
                    continue
                if was is None:
                    arrived.append(key)
                    result.append(key)  # its place: its frame is made below
                elif was != read:
                    result.append(frame("update", {"ID": key, "Read": read}))
                self.entries[key] = read
            total, unread = all_mail_counts(conn)
        if not result:  # told already (by the other source), or nothing the sockets show
            return []
        if gone and total == 0:
            return [frame("truncate", None), self.stats(total, unread)]
        if len(result) >= self.cap:
            raise TooMany(f"{len(result)} changes at once")
        made, waiting = self._arrivals(arrived), set(arrived)
        told = [made.get(item, item) for item in result if item in made or item not in waiting]
        return [*told, self.stats(total, unread)]

    def stats(self, total: int | None = None, unread: int | None = None) -> str:
        """The `stats` frame (of the store as it is now, when not given)."""
        if total is None or unread is None:
            with self.mail.reader.db.reading() as conn:
                total, unread = all_mail_counts(conn)
        return frame("stats", {"Total": total, "Unread": unread, "Version": self.version})

    def _arrivals(self, keys: list[str]) -> dict[str, str]:
        """The `new` frames of the entries `keys` (those still in the store)."""
        with self.mail.reader.db.reading() as conn:
            places = entries_located(conn, keys)
        found = [places[key].summary for key in keys if key in places]
        facts = self.mail.facts(found, places)
        return {item.id: frame("new", shapes.summary(item, facts[item.id])) for item in found}

    def _was(self, id_: str) -> bool | None:
        entry = self._entry_of.get(id_)
        return None if entry is None else self.shown[entry].get(id_)

    def _show(self, id_: str, entry: str, seen: bool, key: str) -> None:
        before = self._entry_of.get(id_)
        if before is not None and before != entry:
            self._hide(id_)
        self._entry_of[id_] = entry
        self._key_of[id_] = key
        self.shown.setdefault(entry, {})[id_] = seen

    def _hide(self, id_: str) -> None:
        entry = self._entry_of.pop(id_)
        self._key_of.pop(id_, None)
        messages = self.shown[entry]
        messages.pop(id_, None)
        if not messages:
            del self.shown[entry]


def _lines(conn: sqlite3.Connection) -> dict[str, Line]:
    """Each file's line of `mailboxes` and `counts`: it moves when the file changes."""
    lines: dict[str, Line] = {
        str(entry): (stamp, end)
        for entry, stamp, end in conn.execute("SELECT entry, stamp, indexed_end FROM mailboxes")
    }
    for entry, mailbox, messages, unread in conn.execute(
        "SELECT entry, mailbox, messages, unread FROM counts"
    ):
        lines[str(entry)] = (*lines.get(str(entry), ()), mailbox, messages, unread)
    return lines


def _moved(conn: sqlite3.Connection, entry: str, shown: dict[str, bool]) -> list[str]:
    """The copies of file `entry` that are not as the sockets were told (`shown`, copy ID
    → read): new, read or unread since, or gone. One pass over the file's rows; the
    others (most of a large file that grew) are not made into frames again."""
    now = {
        str(id_): bool(seen)
        for id_, seen in conn.execute(
            "SELECT id, seen FROM messages WHERE entry = ? AND hidden = 0", (entry,)
        )
    }
    differ = [id_ for id_, seen in now.items() if shown.get(id_) != seen]
    return differ + [id_ for id_ in shown if id_ not in now]


def _states(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, tuple[str, bool, str]]:
    """Each copy's file, read state and entry of all mail now (those still in the store)."""
    wanted = list(ids)
    states: dict[str, tuple[str, bool, str]] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT id, entry, seen, delivery FROM messages WHERE hidden = 0 AND id IN ({marks})",
            chunk,
        )
        states.update(
            (str(id_), (str(entry), bool(seen), str(delivery) or str(id_)))
            for id_, entry, seen, delivery in rows
        )
    return states


def _entry_read(conn: sqlite3.Connection, key: str) -> bool | None:
    """Whether all mail's entry `key` is read now (no copy unread); None: it is gone."""
    if is_delivery_id(key):
        row = conn.execute(
            "SELECT copies, unread FROM deliveries WHERE delivery = ?", (key,)
        ).fetchone()
        return None if row is None or row[0] == 0 else row[1] == 0
    row = conn.execute("SELECT seen FROM messages WHERE id = ? AND hidden = 0", (key,)).fetchone()
    return None if row is None else bool(row[0])
