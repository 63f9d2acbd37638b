"""How every fuzz input is fed to a protocol core, and the error a broken invariant raises."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["InvariantError", "check", "chunked", "splits"]


class InvariantError(AssertionError):
    """An invariant of the protocol core broke for this input."""


def check(condition: bool, why: str) -> None:
    if not condition:
        raise InvariantError(why)


# --- feeding ---------------------------------------------------------------------------


def chunked(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of 1 to 64 bytes, the sizes read from `data` itself, in turn."""
    start = 0
    index = 0
    while start < len(data):
        size = data[index % len(data)] % 64 + 1
        yield data[start : start + size]
        start += size
        index += 1


def splits(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """The three ways every input is fed: whole, byte at a time, chunked."""
    yield "whole", [data] if data else []
    yield "bytes", [data[i : i + 1] for i in range(len(data))]
    yield "chunks", list(chunked(data))
