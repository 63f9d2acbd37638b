"""The base of the enums that key the transition tables, which are looked up at every step."""

from __future__ import annotations

from enum import Enum


class TableKey(Enum):
    """Hashed by identity, in C: members are singletons and equal only to themselves, so
    this is the same hash as Enum's, without its Python-level `hash(name)` call at each of
    the several table look-ups a message takes."""

    __hash__ = object.__hash__
