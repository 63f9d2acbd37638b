"""The search language of the store's readers: a query's text parsed to a typed, frozen
`Query`, and `Query.matches`, the reference semantics the index's SQL must agree with.

The syntax is the one Mailpit users know. Terms are separated by whitespace and all must
match (AND); a leading `-` negates a term; the empty query matches every message.
Everything is case-insensitive, non-ASCII included: the query and the message are both
folded by `fold` (full Unicode case folding, so `ÉTÉ` finds `été` and `STRASSE` finds
`Straße`; NFC; whitespace runs made one space).

    word              a substring of the subject, the sender, one To or Cc address, or the
                      text (decoded text parts, HTML stripped to text); never spanning two
    "two words"       a phrase: the words in that order, separated by any whitespace, also a
                      substring (`"lo wor"` finds "hello   world"); `\\"` and `\\\\` escape
    from:alice        a substring of the sender, display name or address
    to:bob  cc:carol  a substring of one To (Cc) address
    subject:word      a substring of the subject          (any field takes "a phrase" too)
    message-id:x      a substring of the Message-ID
    mailbox:alice     a substring of the mailbox's name
    tag:invoice       the tag `invoice` (the whole name, any case; tag:"two words")
    is:read           seen;  is:unread: not seen;  is:tagged: has a tag
    has:attachment    at least one attachment (has:attachments too)
    after:2024-05-31  received at or after the start of that day, UTC
    before:2024-05-31 received before the start of that day, UTC
                      (so after:D before:E is from day D to the day before E, and
                      -after:D is before:D)
    larger:1M         strictly larger than 1 MiB; smaller:500K: strictly smaller than 500 KiB
                      (a number, decimals allowed, and an optional unit B, K or KB, M or
                      MB, G or GB in any case, powers of 1024; rounded down to whole bytes)

Field names and the values of `is:` and `has:` are case-insensitive too. A word that
starts like a field (`foo:bar`) is an error unless quoted (`"foo:bar"`), so a mistyped
field is never silently searched as text. Limits: `MAX_QUERY_LENGTH` characters and
`MAX_TERMS` terms.
"""

from .errors import QueryError
from .limits import MAX_QUERY_LENGTH, MAX_SIZE, MAX_TERMS
from .parse import parse_query
from .record import SearchRecord, fold
from .terms import (
    Atom,
    DateTerm,
    Field,
    FieldTerm,
    Flag,
    FlagTerm,
    Not,
    Query,
    SizeTerm,
    TagTerm,
    Term,
    TextTerm,
)

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_SIZE",
    "MAX_TERMS",
    "Atom",
    "DateTerm",
    "Field",
    "FieldTerm",
    "Flag",
    "FlagTerm",
    "Not",
    "Query",
    "QueryError",
    "SearchRecord",
    "SizeTerm",
    "TagTerm",
    "Term",
    "TextTerm",
    "fold",
    "parse_query",
]
