"""Tag names, as Mailpit has them: what a tag may hold, how a name given is cleaned, and
the tags a message gets from its `X-Tags:` header and from a plus-address.

A tag is 1 to `MAX_TAG_LENGTH` characters of ASCII letters, digits, space and `-_.@`;
any other character given becomes a space, whitespace runs one space, the ends trimmed
(Mailpit's `CleanTag`), so `"  urgent!! "` is `urgent` and `"a/b"` is `a b`. Tags
compare without regard to case: a message holds `Invoice` or `invoice`, never both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

MAX_TAG_LENGTH: Final = 100
"""Characters of a tag; a longer name is cut there."""
_INVALID: Final = re.compile(r"[^a-zA-Z0-9\-_. @]")
_SPACES: Final = re.compile(r"\s+")
_PLUS: Final = re.compile(r"^[^+@]*\+([^@]*)@")
"""The part of an address's local part after its first `+` (Mailpit's `addressPlusRe`)."""


def clean_tag(name: str) -> str:
    """`name` as a tag: '' when nothing of it is left (then it is no tag)."""
    cleaned = _SPACES.sub(" ", _INVALID.sub(" ", name)).strip()
    return cleaned[:MAX_TAG_LENGTH].rstrip()


def tag_key(name: str) -> str:
    """What two spellings of one tag share (tags are ASCII: lower case is enough)."""
    return name.lower()


def clean_tags(names: Iterable[str]) -> list[str]:
    """Each name cleaned, the empty ones dropped, each tag once (its first spelling),
    in the order given."""
    kept: dict[str, str] = {}
    for name in names:
        tag = clean_tag(name)
        if tag:
            kept.setdefault(tag_key(tag), tag)
    return list(kept.values())


def header_tags(values: Iterable[str]) -> list[str]:
    """The tags of a message's `X-Tags:` fields: each a comma-separated list."""
    return clean_tags(part for value in values for part in value.split(","))


def plus_tags(address: str) -> list[str]:
    """The tags of a plus-address: `user+invoice@example.org` is tagged `invoice`,
    `user+a+b@example.org` `a` and `b`; an address without `+` has none."""
    match = _PLUS.match(address)
    return [] if match is None else clean_tags(match[1].split("+"))


def merged(*lists: Iterable[str]) -> list[str]:
    """The tags of several lists, each once (its first spelling), in order."""
    return clean_tags(tag for tags in lists for tag in tags)


def sorted_tags(names: Iterable[str]) -> list[str]:
    """Each tag once, sorted without regard to case (as the page and `GET /api/v1/tags`
    list them)."""
    kept: dict[str, str] = {}
    for name in sorted(names):  # the same spelling wins every time: the smallest
        kept.setdefault(tag_key(name), name)
    return sorted(kept.values(), key=lambda tag: (tag_key(tag), tag))
