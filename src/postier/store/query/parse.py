"""Turns a query's text into a `Query`, or a `QueryError` saying what is wrong and where.

The grammar (whitespace separates terms; a term is whole, with no space inside it, unless
quoted):

    query   := term*
    term    := ["-"] (phrase | field | word)
    field   := NAME ":" (phrase | value)      NAME is ASCII letters and "-", any case
    phrase  := '"' (char | '\\"' | '\\\\')* '"'     followed by whitespace or the end
    word    := a run of non-space characters, without '"', not of the form NAME ":" …
    value   := a run of non-space characters, without '"', possibly empty (then an error)

Inside a phrase, `\\"` is a quote and `\\\\` a backslash; any other backslash is itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from .errors import QueryError, show
from .limits import MAX_QUERY_LENGTH, MAX_SIZE, MAX_TERMS
from .record import allowed, fold
from .terms import (
    FIELD_NAME,
    TEXT_FIELDS,
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

_FIELDS: Final = {field.value: field for field in Field}
_FIELD_LIST: Final = ", ".join(f"{field.value}:" for field in Field)
_FLAGS: Final = {
    (Field.IS, "read"): Flag.READ,
    (Field.IS, "unread"): Flag.UNREAD,
    (Field.IS, "tagged"): Flag.TAGGED,
    (Field.HAS, "attachment"): Flag.ATTACHMENT,
    (Field.HAS, "attachments"): Flag.ATTACHMENT,  # Mailpit's spelling too
}
_FLAG_CHOICES: Final = {Field.IS: "read, unread or tagged", Field.HAS: "attachment"}
_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_SIZE: Final = re.compile(r"([0-9]+)(?:\.([0-9]+))?(b|kb?|mb?|gb?)?")
_MULTIPLES: Final = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True, slots=True)
class _Raw:
    """A term as scanned, before its field and value are understood."""

    column: int
    """Where the term starts, after its `-` (1 for the query's first character)."""
    negated: bool
    name: str | None
    value: str


def parse_query(text: str) -> Query:
    """The query `text` means; raises `QueryError` if it is malformed. `""` matches all."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is {len(text)} characters long; at most {MAX_QUERY_LENGTH} are allowed"
        )
    for column, character in enumerate(text, start=1):
        if not allowed(character):
            code = f"U+{ord(character):04X}"
            raise QueryError(
                f"character {code} at column {column} is not allowed in a query", column
            )
    terms: list[Term] = []
    for raw in _scan(text):
        if len(terms) == MAX_TERMS:
            raise QueryError(
                f"the query has more than {MAX_TERMS} terms; at most {MAX_TERMS} are allowed"
            )
        atom = _understand(raw)
        terms.append(Not(atom) if raw.negated else atom)
    return Query(tuple(terms))


def _scan(text: str) -> Iterator[_Raw]:
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index == end:
            return
        negated = text[index] == "-"
        if negated:
            index += 1
            if index == end or text[index].isspace():
                raise QueryError(
                    f"the '-' at column {index} has nothing after it; put the term to leave"
                    " out right after it, as in -from:alice",
                    index,
                )
        column = index + 1
        name_match = FIELD_NAME.match(text, index)
        name = name_match.group(1) if name_match else None
        if name_match:
            index = name_match.end()
        if index < end and text[index] == '"':
            value, index = _phrase(text, index)
        else:
            value, index = _bare(text, index)
        yield _Raw(column, negated, name, value)


def _phrase(text: str, opening: int) -> tuple[str, int]:
    """The phrase whose quote is at `opening`, unescaped, and the index after its end."""
    characters: list[str] = []
    index, end = opening + 1, len(text)
    while index < end:
        character = text[index]
        if character == "\\" and index + 1 < end and text[index + 1] in '"\\':
            characters.append(text[index + 1])
            index += 2
            continue
        if character == '"':
            if index + 1 < end and not text[index + 1].isspace():
                raise QueryError(
                    f"the quote that closes at column {index + 1} must be followed by a space"
                    " or the end of the query",
                    index + 1,
                )
            return "".join(characters), index + 1
        characters.append(character)
        index += 1
    raise QueryError(
        f'the quote at column {opening + 1} is never closed; add a closing "', opening + 1
    )


def _bare(text: str, start: int) -> tuple[str, int]:
    """The run of non-space characters from `start`, and the index after it."""
    index, end = start, len(text)
    while index < end and not text[index].isspace():
        if text[index] == '"':
            raise QueryError(
                f"unexpected quote at column {index + 1}; a quote opens a phrase at the start"
                ' of a term or of a field\'s value, as in "two words" or subject:"two words"',
                index + 1,
            )
        index += 1
    return text[start:index], index


def _understand(raw: _Raw) -> Atom:
    value = fold(raw.value)
    if raw.name is None:
        if not value:
            raise QueryError(
                f"the quotes at column {raw.column} hold no words; put the text to find"
                " between them",
                raw.column,
            )
        return TextTerm(tuple(value.split(" ")))
    field = _FIELDS.get(raw.name.lower())
    if field is None:
        raise QueryError(
            f"unknown field '{show(raw.name)}:' at column {raw.column}; the fields are"
            f" {_FIELD_LIST} (to search for the text itself, put it in quotes)",
            raw.column,
        )
    if not value:
        raise QueryError(
            f"'{field.value}:' at column {raw.column} has no value; put it right after the"
            f" colon, as in {field.example}",
            raw.column,
        )
    if field in TEXT_FIELDS:
        return FieldTerm(field, tuple(value.split(" ")))
    if field is Field.TAG:
        return TagTerm(tuple(value.split(" ")))
    if field in _FLAG_CHOICES:
        return _flag(field, value, raw)
    if field in (Field.BEFORE, Field.AFTER):
        return DateTerm(field, _day(field, value, raw))
    return SizeTerm(field, _size(field, value, raw))


def _flag(field: Field, value: str, raw: _Raw) -> FlagTerm:
    flag = _FLAGS.get((field, value))
    if flag is None:
        raise QueryError(
            f"'{field.value}:' at column {raw.column} takes {_FLAG_CHOICES[field]},"
            f" not '{show(raw.value)}'",
            raw.column,
        )
    return FlagTerm(flag)


def _day(field: Field, value: str, raw: _Raw) -> date:
    match = _DATE.fullmatch(value)
    if match is None:
        raise QueryError(
            f"'{field.value}:' at column {raw.column} needs a date as YYYY-MM-DD, like"
            f" 2024-05-31, not '{show(raw.value)}'",
            raw.column,
        )
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise QueryError(
            f"'{field.value}:{value}' at column {raw.column} is not a day of the calendar",
            raw.column,
        ) from None


def _size(field: Field, value: str, raw: _Raw) -> int:
    match = _SIZE.fullmatch(value)
    if match is None:
        raise QueryError(
            f"'{field.value}:' at column {raw.column} needs a size: a number and an optional"
            " unit B, K, M or G (powers of 1024), like 500K or 1.5M, not"
            f" '{show(raw.value)}'",
            raw.column,
        )
    whole: str = match[1]
    fraction: str = match[2] or ""
    multiple = _MULTIPLES[(match[3] or "b")[0]]
    # Exact arithmetic, rounded down to whole bytes: 1.5K is 1536, 0.5 is 0. The query's
    # length bounds the digits, far below int()'s own limit.
    scale: int = 10 ** len(fraction)
    size = (int(whole) * scale + int(fraction or "0")) * multiple // scale
    if size > MAX_SIZE:
        raise QueryError(
            f"the size '{show(raw.value)}' at column {raw.column} is too large; at most"
            f" {MAX_SIZE} bytes",
            raw.column,
        )
    return size
