"""The read side's answers as Mailpit's API v1 writes them: its JSON objects, field for
field (`MessageSummary`, `Message`, `Attachment`, `MessagesSummary`, `AppInformation`),
and postier's own additions in the same style. Pure: values in, dicts out.

Addresses are `{"Name", "Address"}` objects (Go's `mail.Address`), times RFC 3339 with
the fraction trimmed as Go writes it. A message sent to several recipients is one entry
of all mail, as in Mailpit, under its delivery's ID; postier files one copy per recipient,
and a mailbox (`?mailbox=`) lists its copy under the copy's ID. Envelope recipients that
no `To` or `Cc` field names appear in `Bcc` (what Mailpit does): every recipient with a
copy for a delivery's entry, the copy's own recipient for a copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from postier.store.read import MailboxSummary, MessageSummary, MessageView, Page

from .headers import Unsubscribe
from .parts import Part

Json = dict[str, Any]
Pair = tuple[str, str]


def rfc3339(moment: datetime) -> str:
    """`2026-11-27T02:23:09.5Z`: Go's RFC3339Nano (UTC as `Z`, no trailing zeros)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.isoformat()
    if moment.microsecond:
        whole, fraction = text[:19], text[20:26].rstrip("0")
        text = f"{whole}.{fraction}{text[26:]}"
    return text.replace("+00:00", "Z")


def contact(pair: Pair) -> Json:
    return {"Name": pair[0], "Address": pair[1]}


def shown_pair(shown: str) -> Pair:
    """`("Name", "address")` from the index's `Name <address>` (or a bare address)."""
    name, address = parseaddr(shown)
    return (name, address) if address else ("", shown)


def blind(mailbox: str, named: Iterable[Pair]) -> list[Pair]:
    """The copy's recipient as a Bcc when no address field named it."""
    if any(address.lower() == mailbox.lower() for _, address in named):
        return []
    return [("", mailbox)]


def blinded(item: MessageSummary, named: Sequence[Pair]) -> list[Pair]:
    """The recipients of the entry's copies (`MessageSummary.copies`: every copy's for a
    delivery, its own for a copy) that no address field named, as Bccs."""
    return [pair for mailbox in item.copies or (item.mailbox,) for pair in blind(mailbox, named)]


@dataclass(frozen=True, slots=True)
class HeadFacts:
    """What a summary shows that the index does not keep, read from the header block."""

    reply_to: list[Pair]
    username: str
    tags: list[str] = field(default_factory=list)
    """Its tags (`Reader.tags`): the index's, not the header block's."""


def summary(item: MessageSummary, facts: HeadFacts) -> Json:
    """Mailpit's `MessageSummary` of an entry: a delivery in all mail, or one copy."""
    to = [shown_pair(address) for address in item.to]
    cc = [shown_pair(address) for address in item.cc]
    sender = shown_pair(item.sender) if item.sender else ("", item.from_address)
    return {
        "ID": item.id,
        "MessageID": item.message_id.strip().strip("<>"),
        "Read": item.read,
        "From": contact(sender),
        "To": [contact(pair) for pair in to],
        "Cc": [contact(pair) for pair in cc],
        "Bcc": [contact(pair) for pair in blinded(item, [*to, *cc])],
        "ReplyTo": [contact(pair) for pair in facts.reply_to],
        "Subject": item.subject,
        "Created": rfc3339(item.received),
        "Username": facts.username,
        "Tags": list(facts.tags),
        "Size": item.size,
        "Attachments": item.attachments,
        "Snippet": item.snippet,
    }


def listing(
    page: Page, whole: Page, start: int, summaries: Sequence[Json], tags: Sequence[str] = ()
) -> Json:
    """Mailpit's `MessagesSummary`: `total` and `unread` count the whole list (the store,
    or the mailbox asked for), `messages_count` and `messages_unread` what matched; `tags`
    every tag of the store."""
    return {
        "total": whole.total,
        "unread": whole.unread,
        "count": len(summaries),
        "messages_count": page.total,
        "messages_unread": page.unread,
        "start": start,
        "tags": list(tags),
        "messages": list(summaries),
    }


def attachment(part: Part) -> Json:
    """Mailpit's `Attachment`, its checksums over the decoded bytes."""
    content = part.content()
    return {
        "PartID": part.part_id,
        "FileName": part.file_name,
        "ContentType": part.content_type,
        "ContentID": part.content_id,
        "Size": len(content),
        "Checksums": {
            "MD5": hashlib.md5(content, usedforsecurity=False).hexdigest(),
            "SHA1": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
            "SHA256": hashlib.sha256(content).hexdigest(),
        },
    }


@dataclass(frozen=True, slots=True)
class Addressed:
    """A message's address fields, from its header block."""

    sender: list[Pair]
    to: list[Pair]
    cc: list[Pair]
    bcc: list[Pair]
    reply_to: list[Pair]
    return_path: str


def message(
    item: MessageSummary,
    *,
    shown: MessageView,
    fields: Addressed,
    unsubscribe: Unsubscribe,
    username: str,
    found: Sequence[Part],
    tags: Sequence[str] = (),
) -> Json:
    """Mailpit's `Message`: the summary's fields, its bodies, its parts; and `Read`, which
    Mailpit sent until 1.9 (always true: opening a message marks it read) and clients
    written then, such as PyPI's `mailpit-api-client`, still require."""
    sender = fields.sender[0] if fields.sender else shown_pair(item.sender)
    named = [*fields.to, *fields.cc, *fields.bcc]
    return {
        "ID": item.id,
        "MessageID": item.message_id.strip().strip("<>"),
        "Read": item.read,
        "From": contact(sender),
        "To": [contact(pair) for pair in fields.to],
        "Cc": [contact(pair) for pair in fields.cc],
        "Bcc": [contact(pair) for pair in [*fields.bcc, *blinded(item, named)]],
        "ReplyTo": [contact(pair) for pair in fields.reply_to],
        "ReturnPath": fields.return_path.strip().strip("<>") or sender[1],
        "Subject": item.subject,
        "ListUnsubscribe": {
            "Header": unsubscribe.header,
            "Links": unsubscribe.links,
            "Errors": unsubscribe.errors,
            "HeaderPost": unsubscribe.header_post,
        },
        "Date": rfc3339(shown.date or item.received),
        "Tags": list(tags),
        "Username": username,
        "Text": shown.text or "",
        "HTML": shown.html or "",
        "Size": item.size,
        "Inline": [attachment(part) for part in found if part.inline],
        "Attachments": [attachment(part) for part in found if not part.inline],
    }


def mailbox(line: MailboxSummary) -> Json:
    """postier's `/api/v1/mailboxes` entry: one recipient's mailbox."""
    return {
        "Address": line.address,
        "Total": line.count,
        "Unread": line.unread,
        "Size": line.size,
        "Newest": None if line.newest is None else rfc3339(line.newest),
    }


@dataclass(frozen=True, slots=True)
class Stats:
    """What `/api/v1/info` reports of this process and its store."""

    version: str
    database: str
    database_size: int
    messages: int
    unread: int
    uptime: int
    memory: int
    deleted: int
    accepted: int
    accepted_size: int
    rejected: int


def info(stats: Stats, tags: dict[str, int] | None = None) -> Json:
    """Mailpit's `AppInformation`; postier never asks the network for a newer version."""
    return {
        "Version": stats.version,
        "LatestVersion": "disabled",
        "Database": stats.database,
        "DatabaseSize": stats.database_size,
        "Messages": stats.messages,
        "Unread": stats.unread,
        "Tags": dict(tags or {}),
        "RuntimeStats": {
            "Uptime": stats.uptime,
            "Memory": stats.memory,
            "MessagesDeleted": stats.deleted,
            "SMTPAccepted": stats.accepted,
            "SMTPAcceptedSize": stats.accepted_size,
            "SMTPRejected": stats.rejected,
            "SMTPIgnored": 0,
        },
    }
