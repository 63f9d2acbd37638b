"""POP3's blocking work on the store, run on threads: a maildrop taken, a message opened,
the deletions and read marks of UPDATE (RFC 1939 §6).

A maildrop's sizes are what RETR sends (CRLF line ends, before byte-stuffing), which is
not the store's size when the store keeps LF-only lines (mbox): each message is read
once to count them, and the count is kept by stable ID and stored size, so that the
next login of a client that leaves its mail on the server costs no read at all.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from postier.protocol.pop3 import DropEntry, Maildrop, WireSize
from postier.store.read import MessageSummary, NoSuchMessage, Reader

CHUNK: Final = 1 << 18
"""Bytes of a message read from its file at a time."""
_ATTEMPTS: Final = 3
MAX_KNOWN_SIZES: Final = 200_000
"""Wire sizes remembered (an ID and two integers each); past it, the oldest is forgotten."""


class WireSizes:
    """Each message's size on the wire, by (stable ID, stored size); thread-safe."""

    def __init__(self, limit: int = MAX_KNOWN_SIZES) -> None:
        self._known: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def size(self, reader: Reader, summary: MessageSummary) -> int:
        key = (summary.id, summary.size)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        counter = WireSize()
        with reader.open_raw(summary.id) as stream:
            while chunk := stream.read(CHUNK):
                counter.feed(chunk)
        with self._lock:
            self._known[key] = counter.total
            while len(self._known) > self._limit:
                self._known.popitem(last=False)
        return counter.total


def take_maildrop(reader: Reader, address: str, sizes: WireSizes) -> Maildrop:
    """The mailbox of `address` as it stands, oldest first (RFC 1939 §8): empty when it
    has none yet. Raises ReaderError or OSError when it cannot be read."""
    page = reader.messages(address, limit=None)
    entries = []
    for summary in reversed(page.messages):  # the page is newest first
        try:
            entries.append(DropEntry(summary.id, sizes.size(reader, summary)))
        except (FileNotFoundError, NoSuchMessage):
            continue  # deleted since the list was read: not in the maildrop
    return Maildrop(tuple(entries))


def open_message(reader: Reader, uid: str) -> tuple[contextlib.ExitStack, io.BufferedReader]:
    """The message's bytes as a stream, and what closes it (NoSuchMessage when gone)."""
    stack = contextlib.ExitStack()
    try:
        stream = stack.enter_context(reader.open_raw(uid))
    except BaseException:
        stack.close()
        raise
    return stack, stream


def update(reader: Reader, deleted: tuple[str, ...], read: tuple[str, ...]) -> None:
    """RFC 1939 §6: the deleted messages leave the store (its own crash-safe deletion,
    waited for), then the retrieved ones are marked read. A message another reader took
    away meanwhile (the HTTP API, `postier delete`) is skipped, not an error. Raises what
    the store raises."""
    if deleted:
        _each_still_there(lambda ids: reader.delete(ids, wait=True), reader, deleted)
    if read:
        _each_still_there(lambda ids: reader.mark(ids, read=True), reader, read)


def _each_still_there(
    change: Callable[[list[str]], object], reader: Reader, ids: tuple[str, ...]
) -> None:
    for attempt in range(_ATTEMPTS):
        try:
            change([uid for uid in ids if _still_there(reader, uid)])
            return
        except NoSuchMessage:
            if attempt == _ATTEMPTS - 1:
                raise  # gone between the look and the change, again and again


def _still_there(reader: Reader, uid: str) -> bool:
    try:
        reader.locate(uid)
    except NoSuchMessage:
        return False
    return True
