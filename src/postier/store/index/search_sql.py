"""The search language compiled to SQL over the index: `where(query)` holds for exactly the
rows whose record `Query.matches`, and `search_columns`/`message_columns`/`tokens` are the
values the index must store for that to be so.

A query word holds no whitespace and no control character, and the `search` table's tokens
are its columns cut at exactly those (`tokens`), so a word is in a column if and only if it
is in one of that column's tokens. So a word becomes: the tokens of `words` that hold it
(`instr`, after `words_trigrams` narrows them when the word has a trigram), ORed into one
FTS5 `MATCH` on `search` restricted to the term's columns (`{sender} : (...)`). That is
exact, and reads neither the stored text nor any row the word is not in. A phrase (words
with a space) is narrowed so, each word, and `instr` on the stored, folded columns
decides. What SQLite's FTS5 does with these tables (checked in the tests):

- the `ascii` tokenizer keeps every character from U+0080 on in a token and lowercases
  ASCII letters, which folded text no longer holds (`fold` of any code point has none);
- `detail=column` allows the column filter, not phrases, which are not needed;
- the trigram tokenizer reads U+FFFE and U+FFFF as U+FFFD, and stops at NUL (no token
  holds one), so `instr` on the word decides after its trigrams;
- the stored columns hold a newline where the text had NUL (no needle holds either, so
  a substring test cannot tell them apart).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from postier.store.query import (
    DateTerm,
    Field,
    FieldTerm,
    Flag,
    FlagTerm,
    Not,
    Query,
    SearchRecord,
    SizeTerm,
    TagTerm,
    Term,
    TextTerm,
    fold,
)

from .schema import ADDRESS_SEPARATOR, SEARCH_COLUMNS

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_DAY_US: Final = 86_400_000_000
_TRIGRAM: Final = 3
_ALIAS: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEPARATORS: Final = re.compile(r"[\x00-\x20\x7f]+")
"""What ends a token of `search` (the `ascii` tokenizer's separators, `schema.TOKENIZER`)."""
_NOTHING: Final = '""'
"""An FTS5 query that matches no row (an empty string)."""

_TEXT_COLUMNS: Final = ("subject", "sender", "recipients", "cc", "text")
"""Where a bare word or phrase is looked for: each a separate part, as in `Query.matches`."""

_FIELD_COLUMNS: Final = {
    Field.FROM: ("sender",),
    Field.TO: ("recipients",),
    Field.CC: ("cc",),
    Field.SUBJECT: ("subject",),
    Field.MESSAGE_ID: ("message_id",),
    Field.MAILBOX: ("mailbox",),
}


@dataclass(frozen=True, slots=True)
class Condition:
    """A SQL boolean expression and the values of its `?` placeholders, in order."""

    sql: str
    params: tuple[object, ...]


def _stored(text: str) -> str:
    # FTS5's trigram tokenizer ends a value at NUL; a newline keeps what follows indexed.
    return fold(text).replace("\x00", ADDRESS_SEPARATOR)


def search_columns(record: SearchRecord) -> dict[str, str]:
    """The folded values of the `search` table's columns for `record`, keyed in
    `SEARCH_COLUMNS` order. To and Cc addresses are folded one by one and joined by
    `ADDRESS_SEPARATOR`, so no needle spans two of them."""
    values = {
        "subject": _stored(record.subject),
        "sender": _stored(record.sender),
        "recipients": ADDRESS_SEPARATOR.join(map(_stored, record.to)),
        "cc": ADDRESS_SEPARATOR.join(map(_stored, record.cc)),
        "text": _stored(record.text),
        "message_id": _stored(record.message_id),
        "mailbox": _stored(record.mailbox),
    }
    return {column: values[column] for column in SEARCH_COLUMNS}


def tokens(columns: dict[str, str]) -> set[str]:
    """The distinct tokens of the stored `columns` (`search_columns`): the words of
    `words`, the terms of `search`."""
    return {token for value in columns.values() for token in _SEPARATORS.split(value) if token}


def microseconds(moment: datetime) -> int:
    """An aware `moment` as `messages` stores times: microseconds since the epoch, UTC."""
    return (moment - _EPOCH) // _MICROSECOND


def message_columns(record: SearchRecord) -> dict[str, int]:
    """The `messages` columns a query compares, as stored: `received` (microseconds since
    the epoch, UTC), `size`, `attachments` and `seen` (0 or 1)."""
    return {
        "received": microseconds(record.received),
        "size": record.size,
        "attachments": record.attachments,
        "seen": int(record.read),
    }


_UNCHOSEN: Final = (
    "SELECT rowid FROM messages t INDEXED BY messages_{0}_tagged WHERE {1}t.{0}_tags != '[]' "
    "AND NOT EXISTS (SELECT 1 FROM tags_chosen c WHERE c.id = t.id){2}"
)


def _tagged(alias: str, test: str, plus: bool, name: tuple[object, ...]) -> Condition:
    """The rows of `messages AS {alias}` with a tag that `test` holds for (`value`, one
    tag; `name` its parameters), or with any tag (`test` empty): those the API chose tags
    for by their chosen ones, the others by their `X-Tags:` header's and, with `plus`,
    their plus-address's (`messages.header_tags`, `plus_tags`). Each part is found along
    its own index (`tags_chosen`, a partial index of `messages`), never by a walk of every
    message; their rows are what the outer query tests, as `search`'s are."""
    chosen = "c.tags != '[]'"
    derived = ""
    if test:
        chosen = f"EXISTS (SELECT 1 FROM json_each(c.tags) WHERE {test})"
        derived = " AND EXISTS (SELECT 1 FROM json_each(t.{0}_tags) WHERE " + test + ")"
    parts = [
        f"SELECT m2.rowid FROM tags_chosen c CROSS JOIN messages m2 ON m2.id = c.id WHERE {chosen}",
        _UNCHOSEN.format("header", "", derived.format("header")),
        _UNCHOSEN.format("plus", "? AND ", derived.format("plus")),
    ]
    return Condition(
        f"{alias}.rowid IN ({' UNION ALL '.join(parts)})", (*name, *name, int(plus), *name)
    )


def where(
    query: Query, *, alias: str = "m", unread: str | None = None, plus: bool = False
) -> Condition:
    """A SQL boolean expression over `messages AS {alias}`, true for exactly the rows whose
    record `query.matches`; `"1"` for the empty query. Every value is a parameter.
    `unread`: the SQL that says a row is unread, when not its own `seen` (all mail's
    entry for a delivery is unread while any copy is). `plus`: the plus-address's tags
    count (`serve --tags-from-plus`)."""
    if not _ALIAS.fullmatch(alias):
        raise ValueError(f"not a plain SQL identifier: {alias!r}")
    unread_sql = f"{alias}.seen = 0" if unread is None else unread
    parts = [_term(term, alias, unread_sql, plus) for term in query.terms]
    if not parts:
        return Condition("1", ())
    sql = " AND ".join(f"({part.sql})" for part in parts)
    return Condition(sql, tuple(param for part in parts for param in part.params))


def _term(term: Term, alias: str, unread: str, plus: bool) -> Condition:
    match term:
        case Not(inner):
            negated = _term(inner, alias, unread, plus)
            return Condition(f"NOT ({negated.sql})", negated.params)
        case TextTerm(words):
            return _text(alias, _TEXT_COLUMNS, " ".join(words))
        case FieldTerm(field, words):
            return _text(alias, _FIELD_COLUMNS[field], " ".join(words))
        case FlagTerm(Flag.READ):
            return Condition(f"NOT {unread}", ())
        case FlagTerm(Flag.UNREAD):
            return Condition(unread, ())
        case FlagTerm(Flag.TAGGED):
            return _tagged(alias, "", plus, ())
        case TagTerm(_):
            # Tags are ASCII (`tagging`): SQLite's lower() folds them as `fold` does.
            return _tagged(alias, "lower(value) = ?", plus, (term.name,))
        case FlagTerm(_):
            return Condition(f"{alias}.attachments > 0", ())
        case DateTerm(field, day):
            operator = ">=" if field is Field.AFTER else "<"
            return Condition(f"{alias}.received {operator} ?", (_day_start(day),))
        case SizeTerm(field, size):
            operator = ">" if field is Field.LARGER else "<"
            return Condition(f"{alias}.size {operator} ?", (size,))
    raise TypeError(f"not a query term: {term!r}")


def _day_start(day: date) -> int:
    return (day - _EPOCH.date()).days * _DAY_US


def _text(alias: str, columns: tuple[str, ...], needle: str) -> Condition:
    """`needle` a substring of one of `columns` of the row's `search` entry."""
    words = needle.split(" ")
    if len(words) == 1 and len(needle) < _TRIGRAM - 1:
        # A character: most tokens hold it; a scan of the stored text is quicker.
        return _confirmed(alias, columns, needle, "")
    match = _match(columns, words)
    if len(words) == 1:
        sql = f"{alias}.rowid IN (SELECT rowid FROM search WHERE search MATCH {match.sql})"
        return Condition(sql, match.params)
    return _confirmed(alias, columns, needle, f"search MATCH {match.sql} AND ", match.params)


def _match(columns: tuple[str, ...], words: list[str]) -> Condition:
    """A SQL string expression: the FTS5 query on `search` that holds for the rows with
    each of `words` in one of `columns` (the tokens holding each, `_holding`)."""
    parts = [_holding(word) for word in dict.fromkeys(words)]
    # Every string is a parameter, even these constants: the SQL holds no literal.
    match = "? || " + " || ? || ".join(part.sql for part in parts) + " || ?"
    params: list[object] = ["{" + " ".join(columns) + "} : ("]
    for part in parts:
        params.extend((*part.params, " AND "))
    params[-1] = ")"
    return Condition(match, tuple(params))


def word_match(query: Query) -> Condition | None:
    """For a query of one word and nothing else (a bare word or a field's, not negated,
    of two characters or more), a SQL expression whose value is the FTS5 query on `search`
    that `where(query)` tests: its rows are exactly the rows of `messages` (visible or
    hidden, in any mailbox) that the query matches. None for any other query."""
    if len(query.terms) != 1:
        return None
    match query.terms[0]:
        case TextTerm((word,)) if len(word) >= _TRIGRAM - 1:
            return _match(_TEXT_COLUMNS, [word])
        case FieldTerm(field, (word,)) if len(word) >= _TRIGRAM - 1:
            return _match(_FIELD_COLUMNS[field], [word])
    return None


def _confirmed(
    alias: str, columns: tuple[str, ...], needle: str, narrow: str, params: tuple[object, ...] = ()
) -> Condition:
    found = " OR ".join(f"instr(search.{column}, ?) > 0" for column in columns)
    sql = f"{alias}.rowid IN (SELECT rowid FROM search WHERE {narrow}({found}))"
    return Condition(sql, (*params, *(needle,) * len(columns)))


def _holding(word: str) -> Condition:
    """A scalar subquery: the FTS5 query, the tokens of `words` that hold `word` ORed
    (`_NOTHING` when none does)."""
    match = fts_match(word)
    params: tuple[str, ...] = (word,)
    if match is None:
        source = "words WHERE instr(word, ?) > 0"
    else:
        source = "words_trigrams WHERE words_trigrams MATCH ? AND instr(word, ?) > 0"
        params = (match, word)
    sql = (
        "(SELECT coalesce(? || group_concat(? || replace(word, ?, ?) || ?, ?) || ?, ?) "
        f"FROM {source})"
    )
    return Condition(sql, ("(", '"', '"', '""', '"', " OR ", ")", _NOTHING, *params))


def fts_match(needle: str) -> str | None:
    """An FTS5 query on `words_trigrams` true for every word holding `needle` (and maybe
    others): its distinct trigrams ANDed, each quoted as an FTS5 string. None when the
    needle is too short to have a trigram."""
    trigrams = dict.fromkeys(_trigrams(needle))
    if not trigrams:
        return None
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def _trigrams(needle: str) -> Iterator[str]:
    for start in range(len(needle) - _TRIGRAM + 1):
        yield needle[start : start + _TRIGRAM]
