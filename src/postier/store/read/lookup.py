"""Finding one message in the index: where its copy is, with its summary."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass

from postier.protocol.smtp import AddressError, validate_mailbox

from ..naming import mailbox_file_names
from .errors import NotAnAddress
from .queries import counted
from .results import SUMMARY_COLUMNS, MessageSummary, summary_from_row

_PLACE_COLUMNS = "m.entry, m.rank, m.position, m.location, m.length"
_SUMMARY = ", ".join(f"m.{name.strip()}" for name in SUMMARY_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class Located:
    """A message of the index and where its copy is."""

    summary: MessageSummary
    entry: str
    rank: int
    """0: in an mbox, at `position` (its `From ` line), `length` quoted bytes after that
    line; 1: in a Maildir, the file `location` (`new/NAME` or `cur/NAME:2,FLAGS`)."""
    position: int
    location: str
    length: int

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def in_mbox(self) -> bool:
        return self.rank == 0

    def numbered(self, number: int) -> Located:
        return dataclasses.replace(self, summary=dataclasses.replace(self.summary, number=number))


def located(
    conn: sqlite3.Connection, condition: str, params: tuple[object, ...], *, number: int = 0
) -> Located | None:
    """The first message of `SELECT ... FROM messages m WHERE {condition}`."""
    row = conn.execute(
        f"SELECT {_SUMMARY}, {_PLACE_COLUMNS} FROM messages m WHERE {condition}", params
    ).fetchone()
    return None if row is None else _located(row, number)


def located_all(
    conn: sqlite3.Connection, condition: str, params: tuple[object, ...]
) -> list[Located]:
    """Every message of `SELECT ... FROM messages m WHERE {condition}`."""
    rows = conn.execute(
        f"SELECT {_SUMMARY}, {_PLACE_COLUMNS} FROM messages m WHERE {condition}", params
    ).fetchall()
    return [_located(row, 0) for row in rows]


def _located(row: tuple[object, ...], number: int) -> Located:
    *summary, entry, rank, position, location, length = row
    return Located(
        summary_from_row(tuple(summary), number),
        str(entry), int(str(rank)), int(str(position)), str(location), int(str(length)),
    )  # fmt: skip


def place(conn: sqlite3.Connection, found: Located) -> int:
    """The message's number in its mailbox (from 1, oldest first): the messages before it
    counted, or those after it taken from the mailbox's count, whichever side its position
    among its file's (an offset, or a time) says is the shorter; a new arrival's is cheap."""
    mailbox, key = found.summary.mailbox, (found.rank, found.position, found.location)
    first, last = conn.execute(
        "SELECT (SELECT position FROM messages WHERE mailbox = ?1 AND hidden = 0 AND rank = ?2 "
        "ORDER BY position LIMIT 1), (SELECT position FROM messages WHERE mailbox = ?1 AND "
        "hidden = 0 AND rank = ?2 ORDER BY position DESC LIMIT 1)",
        (mailbox, found.rank),
    ).fetchone()
    later = first is not None and found.position - first > last - found.position
    side = ">" if later else "<"
    (count,) = conn.execute(
        "SELECT count(*) FROM messages WHERE mailbox = ? AND hidden = 0 AND "
        f"(rank, position, location) {side} (?, ?, ?)",
        (mailbox, *key),
    ).fetchone()
    if not later:
        return int(count) + 1
    total, _ = counted(conn, mailbox)
    return total - int(count)


def locate_address(address: str) -> str:
    """An address given by a person as the index keeps it: source route dropped, lower
    case. Text that is no address is taken as a mailbox's name as it is (lower case)."""
    return address_key(address)[0]


def address_key(address: str) -> tuple[str, bool]:
    """`locate_address`, and whether the text was an address at all (text that is not
    may still name a mailbox, one whose messages gave it that name)."""
    text = address.strip()
    try:
        return validate_mailbox(text, allow_postmaster=True).lower(), True
    except AddressError:
        if not text:
            raise NotAnAddress(f"not an address: {address!r}") from None
        return text.lower(), False


def mailbox_entries(conn: sqlite3.Connection, address: str) -> list[str] | None:
    """The files a look must see for a list of `address`'s mailbox alone: those the
    index has its messages from, and those of its name in either format (it may have
    arrived since); None when `address` names no file (every mailbox is looked at)."""
    try:
        wanted, _ = address_key(address)
    except NotAnAddress:
        return None
    entries = [str(row[0]) for row in conn.execute(
        "SELECT entry FROM counts WHERE mailbox = ?", (wanted,)
    )]  # fmt: skip
    entries += mailbox_file_names(wanted).values()
    return list(dict.fromkeys(entries)) or None
