"""The JSON objects the reading commands print, each built in one place: a mailbox (`inbox`),
a message (`read`), an arrival (`watch`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from postier.store.read import MailboxSummary, MessageSummary, MessageView


def to_second(moment: datetime | None) -> str | None:
    """A date to the second, as an mbox's `From ` lines have it (ISO 8601)."""
    return moment.replace(microsecond=0).isoformat() if moment is not None else None


def mailbox_json(row: MailboxSummary) -> dict[str, Any]:
    """One element of `inbox --json`."""
    return {
        "mailbox": row.address,
        "count": row.count,
        "unread": row.unread,
        "size": row.size,
        "newest": to_second(row.newest),
    }


def message_json(summary: MessageSummary, message: MessageView) -> dict[str, Any]:
    """One message of `read --json`: its view, with its ID, mailbox (a delivery's: its
    first copy's), the mailboxes of its copies and its read state."""
    shape = message.to_json()
    shape.update(
        {
            "id": summary.id,
            "mailbox": summary.mailbox,
            "mailboxes": list(summary.copies or (summary.mailbox,)),
            "read": summary.read,
        }
    )
    return shape


def arrival_json(summary: MessageSummary, sender_address: str) -> dict[str, Any]:
    """One line of `watch --json`."""
    return {
        "time": to_second(summary.received),
        "id": summary.id,
        "mailbox": summary.mailbox,
        "index": summary.number,
        "from": sender_address,
        "subject": summary.subject,
    }
