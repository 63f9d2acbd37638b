"""What a search looks at in a message (`SearchRecord`), and the folding that makes the
search case-insensitive: `fold` is the one normalization the query and the text share.

The index (a later piece) must store text folded by this same function for its SQL to
agree with `Query.matches`.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

SEPARATOR: Final = "\x00"
"""Joins the parts of a message searched by bare words. A query can never hold it (the
parser refuses control characters), so no match spans two parts."""


def fold(text: str) -> str:
    """`text` casefolded (`str.casefold`, full Unicode folding: `ÉTÉ` → `été`, `ß` → `ss`),
    then NFC-normalized (so `é` typed as one character or as `e` and a combining accent fold
    alike), each run of whitespace made one space and the ends trimmed.

    Idempotent: `fold(fold(t)) == fold(t)` (checked over every code point and by Hypothesis).
    """
    return " ".join(unicodedata.normalize("NFC", text.casefold()).split())


def allowed(character: str) -> bool:
    """Whether a query may hold `character`: anything but the control characters that are
    not whitespace (NUL, ESC, …) and lone surrogates (which cannot be encoded to UTF-8)."""
    category = unicodedata.category(character)
    return category != "Cs" and (category != "Cc" or character.isspace())


@dataclass(frozen=True, slots=True)
class SearchRecord:
    """One stored message as the search sees it: decoded text, never raw MIME.

    `sender` is the decoded From header as displayed (`Alice <alice@example.org>`, so a
    search finds the display name and the address); `to` and `cc` hold one such string per
    address. `text` is the message's decoded text parts, with HTML parts stripped to text.
    `received` is when the store received the message (aware; compared in UTC). `size` is
    the stored copy's size in bytes. `attachments` is how many parts are attachments.
    `tags` are the message's tags (`store.tagging`), as the reader shows them.
    """

    mailbox: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    message_id: str
    text: str
    received: datetime
    size: int
    attachments: int
    read: bool
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.received.utcoffset() is None:
            raise ValueError("SearchRecord.received must be timezone-aware")
        if self.size < 0 or self.attachments < 0:
            raise ValueError("SearchRecord.size and .attachments cannot be negative")


class FoldedRecord:
    """A record's text parts, each folded once when a term first needs it."""

    def __init__(self, record: SearchRecord) -> None:
        self.record = record

    @functools.cached_property
    def everything(self) -> str:
        """Subject, sender, each To and Cc address and the text, folded and joined by
        `SEPARATOR`: what bare words and phrases are searched in."""
        r = self.record
        return SEPARATOR.join(map(fold, (r.subject, r.sender, *r.to, *r.cc, r.text)))

    @functools.cached_property
    def sender(self) -> str:
        return fold(self.record.sender)

    @functools.cached_property
    def to(self) -> tuple[str, ...]:
        return tuple(map(fold, self.record.to))

    @functools.cached_property
    def cc(self) -> tuple[str, ...]:
        return tuple(map(fold, self.record.cc))

    @functools.cached_property
    def subject(self) -> str:
        return fold(self.record.subject)

    @functools.cached_property
    def message_id(self) -> str:
        return fold(self.record.message_id)

    @functools.cached_property
    def mailbox(self) -> str:
        return fold(self.record.mailbox)
