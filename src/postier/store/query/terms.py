"""The parsed query: frozen terms that render back to canonical text and hold the reference
semantics (`matches`), against which the index's SQL is checked.

Every term's text is already folded (`record.fold`) and split into words, so two queries
that mean the same thing compare equal (`subject:ÉTÉ` == `subject:été`), and
`parse_query(str(q)) == q` for every query `q`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Final, TypeAlias

from .limits import MAX_SIZE
from .record import FoldedRecord, SearchRecord, allowed, fold

FIELD_NAME: Final = re.compile(r"([A-Za-z][A-Za-z-]*):")
"""What makes the start of a bare term a field name: ASCII letters and hyphens, a colon."""

_UNITS: Final = (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10))
"""The units a size is rendered with, largest first."""


class Field(enum.Enum):
    """The field names a term can start with, as they are written (in any case)."""

    FROM = "from"
    TO = "to"
    CC = "cc"
    SUBJECT = "subject"
    MESSAGE_ID = "message-id"
    MAILBOX = "mailbox"
    TAG = "tag"
    IS = "is"
    HAS = "has"
    BEFORE = "before"
    AFTER = "after"
    LARGER = "larger"
    SMALLER = "smaller"

    @property
    def example(self) -> str:
        """A term with this field, for error messages."""
        return _EXAMPLES[self]


_EXAMPLES: Final = {
    Field.FROM: "from:alice",
    Field.TO: "to:bob@example.org",
    Field.CC: "cc:carol",
    Field.SUBJECT: 'subject:"two words"',
    Field.MESSAGE_ID: "message-id:1234@example.org",
    Field.MAILBOX: "mailbox:alice@example.org",
    Field.TAG: "tag:invoice",
    Field.IS: "is:unread",
    Field.HAS: "has:attachment",
    Field.BEFORE: "before:2024-05-31",
    Field.AFTER: "after:2024-05-31",
    Field.LARGER: "larger:1M",
    Field.SMALLER: "smaller:500K",
}

TEXT_FIELDS: Final = frozenset(
    {Field.FROM, Field.TO, Field.CC, Field.SUBJECT, Field.MESSAGE_ID, Field.MAILBOX}
)
"""The fields whose value is text found as a substring (`from:alice`)."""


class Flag(enum.Enum):
    """The values of `is:` and `has:`, as rendered."""

    READ = "is:read"
    UNREAD = "is:unread"
    TAGGED = "is:tagged"
    ATTACHMENT = "has:attachment"


def _check_words(words: tuple[str, ...]) -> None:
    # Programming errors, not a person's: the parser only builds canonical words.
    if not words or any(
        not w or w != fold(w) or " " in w or not all(map(allowed, w)) for w in words
    ):
        raise ValueError(f"words must be non-empty, folded and without spaces: {words!r}")


def _quoted(words: tuple[str, ...]) -> str:
    escaped = " ".join(words).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _contains(haystack: str, words: tuple[str, ...]) -> bool:
    # Both sides are folded, so each whitespace run is one space: the words in sequence.
    return " ".join(words) in haystack


@dataclass(frozen=True, slots=True)
class TextTerm:
    """A bare word (`invoice`) or a quoted phrase (`"two words"`): found as a substring of
    the subject, the sender, a To or Cc address, or the text (`SEPARATOR`); a phrase's words
    in sequence, separated by any whitespace."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_words(self.words)

    def render(self) -> str:
        (word, *more) = self.words
        if more or '"' in word or word.startswith("-") or FIELD_NAME.match(word):
            return _quoted(self.words)
        return word

    def test(self, folded: FoldedRecord) -> bool:
        return _contains(folded.everything, self.words)


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """`from:`, `to:`, `cc:`, `subject:`, `message-id:` or `mailbox:` and a word or phrase
    found as a substring of that field (of any one address, for `to:` and `cc:`)."""

    field: Field
    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.field not in TEXT_FIELDS:
            raise ValueError(f"{self.field} does not take text")
        _check_words(self.words)

    def render(self) -> str:
        (word, *more) = self.words
        value = _quoted(self.words) if more or '"' in word else word
        return f"{self.field.value}:{value}"

    def test(self, folded: FoldedRecord) -> bool:
        match self.field:
            case Field.TO:
                return any(_contains(to, self.words) for to in folded.to)
            case Field.CC:
                return any(_contains(cc, self.words) for cc in folded.cc)
            case Field.FROM:
                return _contains(folded.sender, self.words)
            case Field.SUBJECT:
                return _contains(folded.subject, self.words)
            case Field.MESSAGE_ID:
                return _contains(folded.message_id, self.words)
            case _:
                return _contains(folded.mailbox, self.words)


@dataclass(frozen=True, slots=True)
class TagTerm:
    """`tag:NAME`: the message has the tag NAME, the whole name, in any case
    (`tag:"two words"` for a name with a space)."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_words(self.words)

    @property
    def name(self) -> str:
        """The tag's name, folded."""
        return " ".join(self.words)

    def render(self) -> str:
        (word, *more) = self.words
        value = _quoted(self.words) if more or '"' in word else word
        return f"{Field.TAG.value}:{value}"

    def test(self, folded: FoldedRecord) -> bool:
        return any(fold(tag) == self.name for tag in folded.record.tags)


@dataclass(frozen=True, slots=True)
class FlagTerm:
    """`is:read` (the message is seen), `is:unread`, `is:tagged` (it has a tag),
    `has:attachment` (at least one)."""

    flag: Flag

    def render(self) -> str:
        return self.flag.value

    def test(self, folded: FoldedRecord) -> bool:
        record = folded.record
        match self.flag:
            case Flag.READ:
                return record.read
            case Flag.UNREAD:
                return not record.read
            case Flag.TAGGED:
                return bool(record.tags)
            case _:
                return record.attachments > 0


@dataclass(frozen=True, slots=True)
class DateTerm:
    """`after:DAY`: received at or after DAY's start; `before:DAY`: received before DAY's
    start; days are UTC days. So `after:D before:E` is from D to the end of the day before
    E, `-after:D` is exactly `before:D`, and a message received on D is `after:D`."""

    field: Field
    day: date

    def __post_init__(self) -> None:
        if self.field not in (Field.BEFORE, Field.AFTER) or type(self.day) is not date:
            raise ValueError(f"a DateTerm is before: or after: and a date, not {self!r}")

    @property
    def start(self) -> datetime:
        """The first instant of the day, UTC."""
        return datetime.combine(self.day, time(), UTC)

    def render(self) -> str:
        return f"{self.field.value}:{self.day.isoformat()}"

    def test(self, folded: FoldedRecord) -> bool:
        after = folded.record.received >= self.start
        return after if self.field is Field.AFTER else not after


@dataclass(frozen=True, slots=True)
class SizeTerm:
    """`larger:SIZE`: strictly larger than SIZE bytes; `smaller:SIZE`: strictly smaller
    (as in Mailpit: neither includes SIZE itself)."""

    field: Field
    size: int

    def __post_init__(self) -> None:
        if self.field not in (Field.LARGER, Field.SMALLER) or not 0 <= self.size <= MAX_SIZE:
            raise ValueError(f"a SizeTerm is larger: or smaller: and 0..MAX_SIZE, not {self!r}")

    def render(self) -> str:
        for unit, multiple in _UNITS:
            if self.size and self.size % multiple == 0:
                return f"{self.field.value}:{self.size // multiple}{unit}"
        return f"{self.field.value}:{self.size}"

    def test(self, folded: FoldedRecord) -> bool:
        size = folded.record.size
        return size > self.size if self.field is Field.LARGER else size < self.size


Atom: TypeAlias = TextTerm | FieldTerm | TagTerm | FlagTerm | DateTerm | SizeTerm
"""A term that is not negated."""


@dataclass(frozen=True, slots=True)
class Not:
    """`-TERM`: matches exactly the messages `TERM` does not match."""

    term: Atom

    def __post_init__(self) -> None:
        if isinstance(self.term, Not):
            raise ValueError("a term is negated once at most")

    def render(self) -> str:
        return "-" + self.term.render()

    def test(self, folded: FoldedRecord) -> bool:
        return not self.term.test(folded)


Term: TypeAlias = Atom | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A whole query: its terms, all of which must match (no terms: everything matches)."""

    terms: tuple[Term, ...] = ()

    def matches(self, record: SearchRecord) -> bool:
        """Whether `record` matches every term: the reference semantics."""
        folded = FoldedRecord(record)
        return all(term.test(folded) for term in self.terms)

    def render(self) -> str:
        """The canonical text of the query: it parses back to an equal Query."""
        return " ".join(term.render() for term in self.terms)

    def __str__(self) -> str:
        return self.render()
