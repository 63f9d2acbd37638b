"""Follows a store by polling it and reports each message filed after it started.

Polling (a stat of each mbox and a listing of each Maildir, twice a second by default)
works on every system and file system, and with any number of server processes writing:
an mbox that grew is read from where the last poll stopped, under the server's lock for
just the time it takes to learn its complete size; a Maildir message is new when its
unique name was not seen before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..naming import address_from_name
from .errors import MailboxBusy, ReaderError
from .mailboxes import MailboxFile, Store
from .scan import count_mbox, iter_mbox, list_maildir
from .snapshot import file_identity, open_mbox
from .summary import Summary, summarize

DEFAULT_INTERVAL = 0.5
_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message filed since the watch started."""

    mailbox: str
    """The mailbox's address."""
    index: int
    """Its number in the mailbox, as `read` counts, when it was seen. In a Maildir
    written by several servers at once, a copy committed late may still take a place
    before another one already reported."""
    delivered: datetime | None
    summary: Summary


@dataclass(slots=True)
class _MboxState:
    identity: tuple[int, int]
    end: int
    """How far the mbox was read: the end of its last complete message."""
    count: int


@dataclass(slots=True)
class _MaildirState:
    seen: set[str] = field(default_factory=set)


class Watcher:
    """Remembers what each mailbox held at the last poll; `poll` returns what is new."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._mboxes: dict[Path, _MboxState] = {}
        self._maildirs: dict[Path, _MaildirState] = {}
        self._unread: set[Path] = set()
        """Mailboxes that were there at the start but could not be read then."""
        self.errors: list[str] = []
        """Problems met by the last poll, one line each (a mailbox skipped until it mends)."""
        for mailbox in self._mailbox_files():
            self._unread.add(mailbox.path)
            self._visit(mailbox, report=False)
            if mailbox.path in self._mboxes or mailbox.path in self._maildirs:
                self._unread.discard(mailbox.path)

    def poll(self) -> list[Arrival]:
        """The messages filed since the previous poll, in each mailbox's order."""
        self.errors = []
        arrivals: list[Arrival] = []
        present = set()
        for mailbox in self._mailbox_files():
            present.add(mailbox.path)
            # What was there at the start is not new, even if only readable now.
            report = mailbox.path not in self._unread
            arrivals.extend(self._visit(mailbox, report=report))
            if mailbox.path in self._mboxes or mailbox.path in self._maildirs:
                self._unread.discard(mailbox.path)
        # Across mailboxes, in the order they were filed (the sort keeps each one's order).
        arrivals.sort(key=lambda arrival: arrival.delivered or _EPOCH)
        # A mailbox that went away and comes back is new again.
        for known in (self._mboxes, self._maildirs):
            for path in [path for path in known if path not in present]:
                del known[path]
        self._unread &= present
        return arrivals

    def _mailbox_files(self) -> list[MailboxFile]:
        try:
            return self.store.mailbox_files()
        except (OSError, ReaderError) as error:
            self.errors.append(str(error))
            return []

    def _visit(self, mailbox: MailboxFile, *, report: bool) -> list[Arrival]:
        try:
            if mailbox.format == "mbox":
                return self._visit_mbox(mailbox, report)
            return self._visit_maildir(mailbox, report)
        except FileNotFoundError:
            return []  # removed since the listing
        except MailboxBusy:
            return []  # still being written: the next poll will see it
        except (OSError, ReaderError) as error:
            self.errors.append(f"{mailbox.path.name}: {getattr(error, 'strerror', None) or error}")
            return []

    def _visit_mbox(self, mailbox: MailboxFile, report: bool) -> list[Arrival]:
        state = self._mboxes.get(mailbox.path)
        if state is not None:
            info = os.stat(mailbox.path, follow_symlinks=False)
            if (info.st_dev, info.st_ino) == state.identity and info.st_size == state.end:
                return []  # the common case: nothing new, no lock taken
        with open_mbox(mailbox.path, timeout=self.store.lock_timeout) as snapshot:
            identity = file_identity(snapshot.fd)
            if state is None and not report:
                counted = count_mbox(snapshot.fd, snapshot.size)
                self._mboxes[mailbox.path] = _MboxState(identity, snapshot.size, counted.count)
                return []
            if state is None:
                state = _MboxState(identity, 0, 0)
            elif state.identity != identity or snapshot.size < state.end:
                # Replaced or cut by another tool: what is new cannot be told, start over.
                counted = count_mbox(snapshot.fd, snapshot.size)
                self._mboxes[mailbox.path] = _MboxState(identity, snapshot.size, counted.count)
                return []
            arrivals = []
            for stored in iter_mbox(snapshot.fd, state.end, snapshot.size):
                state.count += 1
                summary = summarize(stored)
                arrivals.append(
                    Arrival(_address(mailbox, summary), state.count, stored.delivered, summary)
                )
            state.end = snapshot.size
            self._mboxes[mailbox.path] = state
            return arrivals

    def _visit_maildir(self, mailbox: MailboxFile, report: bool) -> list[Arrival]:
        files = list_maildir(mailbox.path)
        names = {_unique(item.path) for item in files}
        state = self._maildirs.setdefault(mailbox.path, _MaildirState())
        arrivals = []
        if report:
            for index, item in enumerate(files, start=1):
                if _unique(item.path) in state.seen:
                    continue
                stored = item.read()
                if stored is None:
                    names.discard(_unique(item.path))
                    continue
                summary = summarize(stored)
                arrivals.append(Arrival(_address(mailbox, summary), index, item.delivered, summary))
        state.seen = names
        return arrivals


def _unique(path: str) -> str:
    """A Maildir message's unique name: the same in `new/` and, flagged, in `cur/`."""
    return os.path.basename(path).split(":", 1)[0]


def _address(mailbox: MailboxFile, summary: Summary) -> str:
    return address_from_name(mailbox.name) or (summary.delivered_to or mailbox.name).lower()


def follow(
    store: Store,
    on_arrival: Callable[[Arrival], None],
    *,
    interval: float = DEFAULT_INTERVAL,
    count: int | None = None,
    timeout: float | None = None,
    on_error: Callable[[str], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Report each new message to `on_arrival` until `count` were seen or `timeout`
    seconds passed (forever when both are None); return how many were seen.

    A problem with one mailbox goes to `on_error` once, and the watch goes on.
    `on_ready` is called once what the store already holds is known: every message
    filed from then on is reported.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    watcher = Watcher(store)
    if on_ready is not None:
        on_ready()
    reported: set[str] = set()
    seen = 0
    while True:
        for arrival in watcher.poll():
            on_arrival(arrival)
            seen += 1
            if count is not None and seen >= count:
                return seen
        for error in watcher.errors:
            if on_error is not None and error not in reported:
                on_error(error)
            reported.add(error)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return seen
            sleep(min(interval, left))
        else:
            sleep(interval)
