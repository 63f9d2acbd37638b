"""The maildrop of one POP3 session: the messages as they stood at login, and its marks.

RFC 1939 §8: messages are numbered from 1 at login, and keep their numbers for the whole
session, deleted ones included; mail that arrives meanwhile is not numbered into it.
A deletion is only a mark until QUIT (§6), and RSET takes the marks back (§5).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DropEntry:
    """One message: its stable ID (what UIDL shows) and its size on the wire."""

    uid: str
    size: int


@dataclass(slots=True)
class Maildrop:
    """The messages numbered at login, and which are marked deleted or were retrieved."""

    entries: tuple[DropEntry, ...]
    deleted: set[int] = field(default_factory=set)
    """Numbers marked by DELE (from 1)."""
    retrieved: set[int] = field(default_factory=set)
    """Numbers whose whole message RETR sent: marked read at UPDATE."""

    def get(self, number: int) -> DropEntry | None:
        """Message `number`, or None when there is none or it is marked deleted."""
        if not 1 <= number <= len(self.entries) or number in self.deleted:
            return None
        return self.entries[number - 1]

    def live(self) -> list[tuple[int, DropEntry]]:
        return [
            (number, entry)
            for number, entry in enumerate(self.entries, start=1)
            if number not in self.deleted
        ]

    @property
    def count(self) -> int:
        return len(self.entries) - len(self.deleted)

    @property
    def size(self) -> int:
        return sum(entry.size for _, entry in self.live())

    def deleted_ids(self) -> tuple[str, ...]:
        return tuple(self.entries[number - 1].uid for number in sorted(self.deleted))

    def read_ids(self) -> tuple[str, ...]:
        """The retrieved messages that stay (a deleted one needs no mark)."""
        kept = sorted(self.retrieved - self.deleted)
        return tuple(self.entries[number - 1].uid for number in kept)
