"""The store's read side: every reader (the CLI, the web page and its API, POP3) lists,
searches, opens, marks and deletes messages through a `Reader`.

The files stay the truth (mbox and Maildir, as mutt, Dovecot and Python's `mailbox` read
them); the index under `<store>/.postier/` is derived from them (`sync`) and is brought up
to date at each look, at most once every `freshness` seconds. What a reader changes, and
what it finds changed, is announced to its subscribers (`changes`).
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from ..identity import is_delivery_id
from ..index.database import IndexDatabase, IndexUnavailableError
from ..index.rebuild import Rebuild
from ..naming import mailbox_file_names
from ..query import QueryError, parse_query
from .changes import Change, Listener, Subscribers
from .deliveries import delivery_copies, delivery_lead
from .edits import Editor
from .errors import (
    BadQuery,
    DamagedMailbox,
    IndexFailure,
    MailboxBusy,
    NoSuchMailbox,
    NoSuchMessage,
    NotAnAddress,
    ReaderError,
)
from .listing import MAILBOX_ORDER, listed
from .looks import Looks
from .lookup import Located, address_key, located, place
from .mailboxes import Store
from .message import MessageView, view
from .queries import aliased, check_maildir, counted, has_mailbox, mailbox_lines
from .raw import open_maildir_message, open_mbox_message
from .reader_changes import ReaderChanges
from .results import SUMMARY_COLUMNS, MailboxSummary, MessageSummary, Page, summary_from_row
from .rows import BulkRows, reindex_workers
from .scan import StoredMessage
from .snapshot import DEFAULT_LOCK_TIMEOUT
from .sync import IndexSync, stale_entries
from .tags import prune

DEFAULT_FRESHNESS: Final = 0.0
"""Seconds a look may trust the last one: 0, every look compares the files' stamps."""
DEFAULT_LIMIT: Final = 50
_ASCENDING: Final = "m.rank, m.position, m.location"

Progress = Callable[[int, int, int], None]
"""Told (messages read, mailboxes done, mailboxes in all) as a reindex goes."""


class Reader(Looks, ReaderChanges):
    """A store, read (and changed, where a reader changes it) through its index."""

    def __init__(
        self,
        root: Path | str,
        *,
        fsync: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        freshness: float = DEFAULT_FRESHNESS,
        memory: bool = False,
        tags_from_plus: bool = False,
    ) -> None:
        self.root = Path(root)
        self.tags_from_plus = tags_from_plus
        """Whether a plus-address tags its copies (`user+invoice@…`: `invoice`)."""
        self.workers = reindex_workers()
        """The processes a reindex extracts messages in (0: in this one alone)."""
        self.store = Store(self.root, lock_timeout=lock_timeout)
        self.fsync = fsync
        self.freshness = freshness
        self.db = IndexDatabase(self.root, memory=memory)
        self._sync = IndexSync(self.store, self.db.known_words)
        self._subscribers = Subscribers()
        self._last_look = float("-inf")
        self._looking = threading.local()
        self._problems: dict[str, str] = {}
        self._busy: dict[str, str] = {}
        """The mailboxes the last look could not read: entry name, one line (`name: reason`)."""
        self._sync_lock = threading.Lock()
        self.editor = Editor(self)

    @property
    def index_path(self) -> Path:
        return self.db.path

    # -- keeping up with the files ---------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear of every change this reader makes or finds; returns the way to stop."""
        return self._subscribers.subscribe(listener)

    def publish(self, changes: Iterable[Change]) -> None:
        self._subscribers.publish(changes)

    def sync(self, only: Iterable[str] | None = None) -> list[Change]:
        """Bring the index up to date with the files (of the entries `only`, if given) and
        announce what changed. Cheap when nothing did: a few `stat` calls a mailbox."""
        with self._sync_lock:
            started = time.monotonic()
            changes = self._sync_once(only)
            if only is None:  # a look at some mailboxes says nothing of the others
                self._last_look = started
        self.publish(changes)
        return changes

    def _sync_once(self, only: Iterable[str] | None) -> list[Change]:
        wanted = None if only is None else list(only)
        for attempt in range(2):
            if self.db.replaced():
                self.db.reopen()
            try:
                return self._update(wanted)
            except IndexUnavailableError as error:
                raise IndexFailure(str(error)) from None
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                self.db.discard()  # damaged: built again from the files
        raise AssertionError("unreachable")

    def _update(self, only: list[str] | None) -> list[Change]:
        with self.db.reading() as conn:
            stale, gone = stale_entries(self._sync, conn, only)
        changes: list[Change] = []
        for entry in gone:
            with self.db.writing() as conn:
                changes += self._sync.forget(conn, entry)
        problems: dict[str, str] = {}
        busy: dict[str, str] = {}
        for mailbox in stale:
            name = mailbox.path.name
            try:
                with self.db.writing() as conn:
                    changes += self._sync.update(conn, mailbox)
            except MailboxBusy as error:
                # A writer held it past the lock timeout: what the index had is shown.
                busy[name] = f"{name}: {error} (showing it as it was last read)"
            except (ReaderError, OSError) as error:
                # Skipped until it mends; what the index had of it stays listed.
                problems[name] = f"{name}: {_reason(error)}"
        if only is None:
            self._problems, self._busy = problems, busy
        else:
            for entry in only:
                self._problems.pop(entry, None)
                self._busy.pop(entry, None)
            self._problems.update(problems)
            self._busy.update(busy)
        return changes

    @property
    def errors(self) -> list[str]:
        """The mailboxes the last look could not read, one line each (`name: reason`):
        damaged ones, and busy ones (a writer kept them locked too long)."""
        return [*self._problems.values(), *self._busy.values()]

    def _mailbox(self, conn: sqlite3.Connection, address: str) -> str:
        """The index's key of `address`'s mailbox. Raises NotAnAddress for text that is no
        address and names no mailbox, DamagedMailbox when its file could not be read."""
        wanted, valid = address_key(address)
        for fmt, entry in mailbox_file_names(wanted).items():
            if entry in self._problems:
                raise DamagedMailbox(self._problems[entry])
            if fmt == "maildir":
                check_maildir(self.root / entry)
        if not valid and not has_mailbox(conn, wanted):
            raise NotAnAddress(f"not an address: {address!r}")
        return wanted

    def _replaced(self) -> bool:
        return self.db.replaced()

    def reindex(self, progress: Progress | None = None) -> int:
        """Build the index again from the files, in one transaction (readers see the old
        one until it commits); returns the number of messages indexed."""
        with self._sync_lock:
            if self.db.replaced():
                self.db.reopen()
            files = self.store.mailbox_files()
            tally = [0, 0]  # messages read, mailboxes done

            def counted(count: int) -> None:
                tally[0] += count
                if progress is not None:
                    progress(tally[0], tally[1], len(files))

            with self.db.writing() as conn:
                # Emptied, and filled again without its indexes and triggers, which are
                # made again at the end: all in this one transaction (`index.rebuild`).
                rebuild = Rebuild(conn)
                bulk = BulkRows(conn, self.db.known_words, workers=self.workers)
                try:
                    rebuild.begin()
                    for mailbox in files:
                        self._sync.update(conn, mailbox, counted, bulk)
                        tally[1] += 1
                    bulk.flush()
                    rebuild.end()
                finally:
                    bulk.close()
                    rebuild.restore()
                prune(conn)  # the tags chosen stay, but for the copies that are gone
                if progress is not None:
                    progress(tally[0], len(files), len(files))
            done = tally[0]
            self.db.checkpoint()
            self._last_look = time.monotonic()
            return done

    # -- listing ---------------------------------------------------------------------------

    def mailboxes(self) -> list[MailboxSummary]:
        """Every mailbox with its counts, size and newest date, newest first."""
        self._look()
        with self.db.reading() as conn:
            return mailbox_lines(conn)

    def messages(
        self,
        mailbox: str | None = None,
        *,
        query: str = "",
        offset: int = 0,
        limit: int | None = DEFAULT_LIMIT,
    ) -> Page:
        """A page of a list, newest first: one mailbox's copies, or all mail (every
        delivery once, `deliveries`), those that match `query` (the search syntax of
        `store.query`) when given; in all mail, a query with a `mailbox:` term lists the
        copies it matches."""
        try:
            parsed = parse_query(query)
        except QueryError as error:
            raise BadQuery(f"bad search: {error}") from None
        self._look_at(mailbox)
        wanted = None
        with self.db.reading() as conn:
            if mailbox is not None:
                wanted = self._mailbox(conn, mailbox)
            return listed(conn, parsed, wanted, offset, limit, plus=self.tags_from_plus)

    def all_ids(self, *, deliveries: bool = False) -> set[str]:
        """The IDs of every copy the index shows (for a reader that follows the store);
        with `deliveries`, the IDs of their deliveries too (what all mail may name)."""
        with self.db.reading() as conn:
            ids = {row[0] for row in conn.execute("SELECT id FROM messages WHERE hidden = 0")}
            if deliveries:
                ids.update(row[0] for row in conn.execute("SELECT delivery FROM deliveries"))
            return ids

    def last_seq(self) -> int:
        """The highest row number of the index: what was indexed after it is new."""
        with self.db.reading() as conn:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0])

    def indexed_since(self, seq: int) -> list[tuple[int, MessageSummary]]:
        """The messages indexed after row `seq`, in the order they were received."""
        with self.db.reading() as conn:
            rows = conn.execute(
                f"SELECT m.seq, {aliased(SUMMARY_COLUMNS)} FROM messages m "
                f"WHERE m.seq > ? AND m.hidden = 0 ORDER BY m.received, m.position, m.location",
                (seq,),
            ).fetchall()
        return [(row[0], summary_from_row(row[1:])) for row in rows]

    # -- one message -----------------------------------------------------------------------

    def locate(self, ref: str) -> Located:
        """Where the message with ID `ref` is; NoSuchMessage when the store has none. A
        delivery's ID gives its lead copy, with the delivery's entry as its summary."""
        self._look()
        with self.db.reading() as conn:
            if is_delivery_id(ref):
                found = delivery_lead(conn, ref)
            else:
                found = located(conn, "m.id = ? AND m.hidden = 0", (ref,))
        if found is None:
            raise NoSuchMessage(f"no message with ID {ref} in the store")
        return found

    def copies(self, ref: str) -> list[Located]:
        """The copies `ref` names: every visible copy of a delivery (its ID), in the
        order indexed; the one copy of a copy's ID. NoSuchMessage when there is none."""
        if not is_delivery_id(ref):
            return [self.locate(ref)]
        self._look()
        with self.db.reading() as conn:
            if not (found := delivery_copies(conn, ref)):
                raise NoSuchMessage(f"no message with ID {ref} in the store")
        return found

    def numbered(self, address: str, number: int | None) -> Located:
        """Message `number` (from 1, oldest first) of `address`'s mailbox, or its last."""
        self._look()
        with self.db.reading() as conn:
            wanted = self._mailbox(conn, address)
            count, _ = counted(conn, wanted)
            if count == 0 and not has_mailbox(conn, wanted):
                raise NoSuchMailbox(f"no mailbox for {wanted} in the store")
            if count == 0:
                what = "message" if number is None else f"message {number}"
                raise NoSuchMessage(f"no {what} in {wanted}: it is empty")
            if number is not None and number > count:
                plural = "" if count == 1 else "s"
                raise NoSuchMessage(
                    f"no message {number} in {wanted}: it holds {count} message{plural}"
                )
            index = count if number is None else number
            # Skipped along the index from the nearer end: the last (or a recent one) at once.
            ahead = index - 1 <= count - index
            found = located(
                conn,
                f"m.mailbox = ? AND m.hidden = 0 ORDER BY {_ASCENDING if ahead else MAILBOX_ORDER}"
                " LIMIT 1 OFFSET ?",
                (wanted, index - 1 if ahead else count - index),
                number=index,
            )
        if found is None:  # pragma: no cover - counted in the same transaction
            raise NoSuchMessage(f"no message {index} in {wanted}")
        return found

    def message(self, ref: str) -> Located:
        """The message with ID `ref`, with its number in its mailbox (which costs a count
        of the messages on one side of it: `locate` when it is not wanted)."""
        found = self.locate(ref)  # a delivery's: its lead, numbered in the lead's mailbox
        with self.db.reading() as conn:
            return found.numbered(place(conn, found))

    @contextlib.contextmanager
    def open_raw(self, ref: str | Located) -> Iterator[io.BufferedReader]:
        """The message's bytes (trace headers and message, mbox quoting undone), streamed."""
        found = self.locate(ref) if isinstance(ref, str) else ref
        stream = self._open(found)
        try:
            yield stream
        finally:
            stream.close()

    def _open(self, found: Located) -> io.BufferedReader:
        for attempt in range(2):
            path = os.path.join(self.root, found.entry)
            try:
                if found.rank == 0:
                    return open_mbox_message(path, found.position, found.length)
                return open_maildir_message(os.path.join(path, found.location))
            except (FileNotFoundError, NoSuchMessage):
                if attempt:
                    raise NoSuchMessage(f"message {found.id} is no longer in the store") from None
            self.sync([found.entry])  # moved by a compaction or a mail client: look again
            found = self.locate(found.id)
        raise AssertionError("unreachable")

    def read_bytes(self, ref: str | Located) -> bytes:
        """The whole message (for its parsed view, which needs all of it anyway)."""
        with self.open_raw(ref) as stream:
            return stream.read()

    def view(self, ref: str | Located) -> MessageView:
        """The parsed view of a message: text, HTML, headers, attachments. Its `index` is
        the number the `Located` carries (from `message` or `numbered`); an ID is found
        without its number (index 0), which would cost a count of the messages beside it."""
        found = self.locate(ref) if isinstance(ref, str) else ref
        raw = self.read_bytes(found)
        stored = StoredMessage(data=raw, quoted=False, filed=found.summary.received)
        return view(found.summary.number, stored)

    def close(self) -> None:
        self.editor.close()
        self.db.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
