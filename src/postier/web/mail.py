"""The store's read side for the HTTP API, off the event loop.

Every `Reader` call reads SQLite and files, so each runs on this module's threads
(`asyncio` awaits it): SMTP sessions sharing the loop are never held up by a page, a
search or a large message. Blocking work is grouped here into one call per request, so
that a request crosses to a thread once or twice, not once per row.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesFeedParser
from typing import Final, TypeVar

from postier.store.read import (
    Located,
    MessageSummary,
    MessageView,
    NoSuchMessage,
    Page,
    Reader,
    entries_located,
)

from . import headers
from .parts import Part, find, parts
from .shapes import Addressed, HeadFacts

T = TypeVar("T")

THREADS: Final = 4
"""Requests read the store this many at a time; more wait their turn."""
CHUNK: Final = 1 << 16
"""Bytes of a message read from its file at a time, for `/raw` and parsing."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A message opened in full: where it is, its view, its header block, its parts."""

    found: Located
    view: MessageView
    block: bytes
    parts: list[Part]

    def addressed(self) -> Addressed:
        block = self.block
        return Addressed(
            sender=headers.addresses(block, "from"),
            to=headers.addresses(block, "to"),
            cc=headers.addresses(block, "cc"),
            bcc=headers.addresses(block, "bcc"),
            reply_to=headers.addresses(block, "reply-to"),
            return_path=headers.first(block, "return-path"),
        )


class Mail:
    """One `Reader`, used from the event loop."""

    def __init__(self, reader: Reader, *, look: Callable[[], object] | None = None) -> None:
        self.reader = reader
        self.look: Callable[[], object] = reader.sync if look is None else look
        """A look at the files for what other processes changed, its changes announced
        to the reader's subscribers: the reader's own sync, or a server's indexer asked
        to make it (in its own process, off this one's interpreter)."""
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="postier-web")

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` on one of the threads."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)

    # -- on the threads ----------------------------------------------------------------

    def page(
        self, mailbox: str | None, query: str, start: int, limit: int | None
    ) -> tuple[Page, Page, dict[str, HeadFacts], list[str]]:
        """A page, the counts of the whole list it is from, each row's head facts, and
        every tag of the store: all after one look at the files."""
        with self.reader.one_look():
            found = self.reader.messages(mailbox, query=query, offset=start, limit=limit)
            whole = found if not query else self.reader.messages(mailbox, limit=0)
            return found, whole, self.facts(found.messages), self.reader.all_tags()

    def entries(self, copies: list[MessageSummary]) -> list[MessageSummary]:
        """All mail's entries for `copies` (the store's changes name copies): a delivery's
        once, as all mail lists it (its ID, every copy's mailbox); a foreign copy as it
        is; a delivery none of whose copies is left, not at all."""
        found: dict[str, MessageSummary] = {}
        for item in copies:
            if not item.delivery:
                found[item.id] = item
            elif item.delivery not in found:
                with contextlib.suppress(NoSuchMessage):
                    found[item.delivery] = self.reader.locate(item.delivery).summary
        return list(found.values())

    def facts(
        self, items: list[MessageSummary], places: dict[str, Located] | None = None
    ) -> dict[str, HeadFacts]:
        """`HeadFacts` of each message, from its header block (no look at the files'
        stamps per message: the page was just brought up to date); `places`: where they
        are, when found already (else they are looked up, all at once)."""
        result: dict[str, HeadFacts] = {}
        tags = self.reader.tags([item.id for item in items])
        if places is None:
            with self.reader.db.reading() as conn:
                places = entries_located(conn, [item.id for item in items])
        for item in items:
            where = places.get(item.id)
            block = b""
            if where is not None:
                with contextlib.suppress(NoSuchMessage, OSError):
                    block = self.head(where)
            reply_to = headers.addresses(block, "reply-to")
            result[item.id] = HeadFacts(reply_to, headers.username(block), tags.get(item.id, []))
        return result

    def head(self, ref: str | Located) -> bytes:
        """The message's header block (at most `headers.HEAD_LIMIT` bytes of it)."""
        with self.reader.open_raw(ref) as stream:
            data = b""
            while len(data) < headers.HEAD_LIMIT:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                data += chunk
                if b"\n\n" in data or b"\r\n\r\n" in data:
                    break
        return headers.header_block(data[: headers.HEAD_LIMIT])

    def resolve(self, ref: str, query: str = "") -> str:
        """`latest` (the newest message, of those matching `query` if given) or an ID."""
        if ref != "latest":
            return ref
        newest = self.reader.messages(query=query, limit=1).messages
        if not newest:
            raise NoSuchMessage("no message in the store" + (" matches" if query else ""))
        return newest[0].id

    def open(self, ref: str, *, mark: bool) -> Opened:
        """The message in full; marked read first with `mark` (as Mailpit's view does)."""
        found = self.reader.message(ref)
        if mark and not found.summary.read:
            self.reader.mark([found.id], read=True)
            found = self.reader.message(found.id)
        shown = self.reader.view(found)
        tree = _parse(shown.raw)
        return Opened(found, shown, headers.header_block(shown.raw), parts(tree))

    def part(self, ref: str, part_id: str) -> Part | None:
        """The part `part_id` of the message, parsed from its file a chunk at a time."""
        parser = BytesFeedParser(policy=policy.default)
        for chunk in self.chunks(ref):
            parser.feed(chunk)
        return find(parser.close(), part_id)

    def chunks(self, ref: str) -> Iterator[bytes]:
        with self.reader.open_raw(ref) as stream:
            yield from iter(lambda: stream.read(CHUNK), b"")

    def open_stream(self, ref: str) -> tuple[int, io.BufferedReader, Callable[[], None]]:
        """The message's size, its bytes as a stream, and the way to close it."""
        found = self.reader.locate(ref)
        manager = self.reader.open_raw(found)
        stream = manager.__enter__()

        def close() -> None:
            manager.__exit__(None, None, None)

        return found.summary.size, stream, close


def _parse(raw: bytes) -> Message:
    parser = BytesFeedParser(policy=policy.default)
    parser.feed(raw)
    return parser.close()
