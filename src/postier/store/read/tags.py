"""The tags of the index's messages: read, chosen (`PUT /api/v1/tags`), renamed, deleted.

A copy's tags are those the API chose for it (`tags_chosen`, kept by a reindex) once it
chose, else those of its `X-Tags:` header and, when the reader is told to, of its
plus-address (`messages.header_tags`, `plus_tags`, derived from the files). A rename or
a deletion writes the tags of every copy it changes into `tags_chosen`, so that a reindex
does not bring a renamed or deleted header tag back. A delivery's entry in all mail has
its lead copy's tags, as a search of all mail tests the lead; tags chosen through a
delivery's ID go to every copy of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from ..identity import is_delivery_id
from ..tagging import clean_tag, clean_tags, merged, sorted_tags, tag_key
from .errors import BadTag

_ROWS: Final = (
    "SELECT m.id, m.header_tags, m.plus_tags, c.tags FROM messages m "
    "LEFT JOIN tags_chosen c ON c.id = m.id WHERE +m.hidden = 0"
)
"""The visible rows, each with its chosen tags, for an `AND m.id IN (...)`: `+` keeps the
planner off `messages_by_state`, which (with no statistics to tell it) it takes for
`hidden = 0` once the list holds a few dozen IDs, and so reads every visible row instead
of finding each ID along its own index (80 ms against 0.5 ms for 50 IDs of 100,000)."""
_UNCHOSEN: Final = (
    "SELECT m.id, m.header_tags, m.plus_tags, NULL FROM messages m "
    "INDEXED BY messages_{0}_tagged WHERE m.{0}_tags != '[]' AND m.hidden = 0 "
    "AND NOT EXISTS (SELECT 1 FROM tags_chosen c WHERE c.id = m.id)"
)
"""The visible rows the API chose no tags for that have tags of their header (`header`)
or address (`plus`): along a partial index, so that a store of untagged mail costs
nothing to look through."""
_CHUNK: Final = 500


def _tags(row: Sequence[object], plus: bool) -> list[str]:
    """The tags of one row of `_ROWS`."""
    _, header, address, chosen = row
    if chosen is not None:
        return list(json.loads(str(chosen)))
    return merged(json.loads(str(header)), json.loads(str(address)) if plus else [])


def _tagged(conn: sqlite3.Connection, plus: bool) -> Iterator[Sequence[object]]:
    """Every visible row that has a tag (and maybe some that have none), once."""
    seen: set[str] = set()
    queries = [
        # CROSS JOIN: `tags_chosen` first, whatever the planner guesses of its size.
        "SELECT m.id, m.header_tags, m.plus_tags, c.tags FROM tags_chosen c "
        "CROSS JOIN messages m ON m.id = c.id WHERE m.hidden = 0",
        _UNCHOSEN.format("header"),
    ]
    if plus:
        queries.append(_UNCHOSEN.format("plus"))
    for query in queries:
        for row in conn.execute(query):
            if row[0] not in seen:
                seen.add(row[0])
                yield row


def _lead(conn: sqlite3.Connection, delivery: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM messages INDEXED BY messages_by_delivery "
        "WHERE delivery = ? AND hidden = 0 AND delivery != '' ORDER BY seq LIMIT 1",
        (delivery,),
    ).fetchone()
    return None if row is None else str(row[0])


def tags_for(conn: sqlite3.Connection, refs: Iterable[str], plus: bool) -> dict[str, list[str]]:
    """The tags of each copy or delivery ID of `refs` the index holds (a delivery: its
    lead's)."""
    copy_of = {}
    for ref in refs:
        copy = _lead(conn, ref) if is_delivery_id(ref) else ref
        if copy is not None:
            copy_of[ref] = copy
    found: dict[str, list[str]] = {}
    ids = sorted(set(copy_of.values()))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"{_ROWS} AND m.id IN ({marks})", chunk):
            found[str(row[0])] = _tags(row, plus)
    return {ref: found[copy] for ref, copy in copy_of.items() if copy in found}


def tag_counts(conn: sqlite3.Connection, plus: bool) -> dict[str, int]:
    """Every tag a visible copy has, with how many copies have it (one spelling each:
    the smallest)."""
    spellings: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for row in _tagged(conn, plus):
        for tag in _tags(row, plus):
            spellings.setdefault(tag_key(tag), set()).add(tag)
            counts[tag_key(tag)] = counts.get(tag_key(tag), 0) + 1
    return {min(spellings[key]): counts[key] for key in sorted(counts)}


def all_tags(conn: sqlite3.Connection, plus: bool) -> list[str]:
    """Every tag a visible copy has, once, sorted without regard to case."""
    return sorted_tags(tag_counts(conn, plus))


def choose(conn: sqlite3.Connection, ids: Iterable[str], names: Iterable[str], plus: bool) -> None:
    """Give each copy of `ids` exactly the tags `names` (cleaned; none: no tag). A tag
    another message has already keeps that spelling."""
    known = {tag_key(tag): tag for tag in all_tags(conn, plus)}
    tags = [known.get(tag_key(tag), tag) for tag in clean_tags(names)]
    _write(conn, {id_: tags for id_ in ids})


def _write(conn: sqlite3.Connection, chosen: dict[str, list[str]]) -> None:
    conn.executemany(
        "INSERT INTO tags_chosen VALUES (?, ?) ON CONFLICT DO UPDATE SET tags = excluded.tags",
        [(id_, json.dumps(tags)) for id_, tags in chosen.items()],
    )


def _having(conn: sqlite3.Connection, tag: str, plus: bool) -> dict[str, list[str]]:
    """The visible copies that have `tag` (in any case), with their tags."""
    key = tag_key(tag)
    having = {}
    for row in _tagged(conn, plus):
        tags = _tags(row, plus)
        if any(tag_key(t) == key for t in tags):
            having[str(row[0])] = tags
    return having


def rename(conn: sqlite3.Connection, old: str, new: str, plus: bool) -> list[str]:
    """Rename the tag `old` to `new` (cleaned) on every copy that has it. As Mailpit's:
    BadTag when `new` cleans to nothing, when no copy has `old`, or when `new` is another
    tag that exists (a change of case only is a rename). Returns the copies changed."""
    name = clean_tag(new)
    if not name:
        raise BadTag(f"invalid tag name: {new!r}")
    if old == name:
        return []
    having = _having(conn, old, plus)
    if not having:
        raise BadTag(f"tag not found: {old}")
    if tag_key(name) != tag_key(old) and _having(conn, name, plus):
        raise BadTag(f"tag already exists: {name}")
    key = tag_key(old)
    renamed = {id_: [name if tag_key(t) == key else t for t in ts] for id_, ts in having.items()}
    _write(conn, {id_: merged(tags) for id_, tags in renamed.items()})
    return list(renamed)


def remove(conn: sqlite3.Connection, tag: str, plus: bool) -> list[str]:
    """Take the tag `tag` off every copy; BadTag when none has it. Returns the copies
    changed."""
    having = _having(conn, tag, plus)
    if not having:
        raise BadTag(f"tag not found: {tag}")
    key = tag_key(tag)
    _write(conn, {id_: [t for t in tags if tag_key(t) != key] for id_, tags in having.items()})
    return list(having)


def prune(conn: sqlite3.Connection) -> None:
    """Forget the tags chosen for copies the index no longer holds (deleted)."""
    conn.execute("DELETE FROM tags_chosen WHERE id NOT IN (SELECT id FROM messages)")
