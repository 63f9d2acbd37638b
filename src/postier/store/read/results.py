"""What the read side answers with: a message's summary, a mailbox's line, a page of a list.

These are the shapes every reader shares (the CLI's tables and JSON, the HTTP API, POP3's
listings): built from the index's rows in one place, so that they agree.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from ..index.search_sql import microseconds

SNIPPET_LENGTH: Final = 250


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def from_micros(value: int) -> datetime:
    """An index time (microseconds since the epoch) as an aware UTC datetime, exactly."""
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        return _EPOCH


def to_micros(moment: datetime) -> int:
    """An aware datetime as an index time, exactly (as the search compares it)."""
    return microseconds(moment)


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """One stored copy, or in all mail one delivery (through its lead copy), as lists
    show it."""

    id: str
    """Its stable ID (`store.identity`): what the CLI, the HTTP API and POP3's UIDL show;
    a delivery's (`d...`) for a delivery's entry in all mail."""
    mailbox: str
    """The address of the mailbox that holds it (a delivery's: its lead copy's)."""
    number: int
    """Its place in its mailbox, from 1, oldest first (what `read ADDRESS N` takes);
    0 when the summary came from a list that did not count it."""
    sender: str
    """`From:`, decoded, as written ("Name <address>")."""
    from_address: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    message_id: str
    date: datetime | None
    """Its `Date:` header, when readable."""
    received: datetime
    """When the store received it (UTC)."""
    size: int
    """Its bytes, trace headers included, as `open_raw` gives them."""
    attachments: int
    read: bool
    snippet: str
    """Up to `SNIPPET_LENGTH` characters of its text, whitespace collapsed."""
    delivery: str = ""
    """The ID of the delivery it belongs to (`identity.delivery_id`); '' for a message
    postier did not file. A copy's entry carries it too, so that a reader of changes
    (which name copies) can tell which entry of all mail a copy is part of."""
    copies: tuple[str, ...] = ()
    """The mailboxes holding its copies: all of a delivery's for its entry in all mail
    (its envelope's recipients, as far as their copies are left), the copy's own for a
    copy; `read` is then true when none of them is unread."""


SUMMARY_COLUMNS: Final = (
    "id, mailbox, sender, from_address, recipients, cc, subject, message_id, date, "
    "received, size, attachments, seen, snippet, delivery"
)
"""The `messages` columns `summary_from_row` reads, in its order."""


def summary_from_row(row: sqlite3.Row | tuple[object, ...], number: int = 0) -> MessageSummary:
    """A summary from a row of `SELECT {SUMMARY_COLUMNS} FROM messages`."""
    (
        id_,
        mailbox,
        sender,
        from_address,
        recipients,
        cc,
        subject,
        message_id,
        date,
        received,
        size,
        attachments,
        seen,
        snippet,
        delivery,
    ) = tuple(row)
    return MessageSummary(
        id=str(id_),
        mailbox=str(mailbox),
        number=number,
        sender=str(sender),
        from_address=str(from_address),
        to=tuple(json.loads(str(recipients))),
        cc=tuple(json.loads(str(cc))),
        subject=str(subject),
        message_id=str(message_id),
        date=None if date is None else from_micros(int(str(date))),
        received=from_micros(int(str(received))),
        size=int(str(size)),
        attachments=int(str(attachments)),
        read=bool(seen),
        snippet=str(snippet),
        delivery=str(delivery),
        copies=(str(mailbox),),
    )


@dataclass(frozen=True, slots=True)
class MailboxSummary:
    """One mailbox (all the files of one address), as `inbox` lists it."""

    address: str
    count: int
    unread: int
    size: int
    """Bytes of its messages."""
    newest: datetime | None
    """When its most recently received message was received."""


@dataclass(frozen=True, slots=True)
class Page:
    """A slice of a list, newest first, and what the whole list holds."""

    total: int
    """Messages in the whole list (all that match, for a search)."""
    unread: int
    """Of those, the ones not read."""
    messages: list[MessageSummary]
