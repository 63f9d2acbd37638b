"""The store as a reader sees it: its mailboxes, the format of each found on disk, and one
mailbox's messages in delivery order.

Addresses become paths only through `store.naming`, the way the server names its files;
a mailbox whose name was shortened takes its address from its messages' `Delivered-To:`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postier.protocol.smtp import AddressError, validate_mailbox

from ..naming import MBOX_SUFFIX, StoreFormat, address_from_name, mailbox_path
from .errors import DamagedMailbox, NoSuchMessage, NotAnAddress, ReaderError
from .scan import (
    MaildirFile,
    StoredMessage,
    count_mbox,
    envelope_time,
    is_maildir,
    iter_mbox,
    list_maildir,
    read_first,
)
from .snapshot import DEFAULT_LOCK_TIMEOUT, MboxSnapshot, open_mbox
from .summary import Summary, summarize

_MAILDIR_PARTS = ("tmp", "new", "cur")


@dataclass(frozen=True, slots=True)
class MailboxFile:
    """One mailbox on disk: an mbox file or a Maildir directory."""

    path: Path
    format: StoreFormat
    name: str
    """The name made by `store.naming` (the entry without `.mbox`)."""


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """One line of `inbox`."""

    address: str
    count: int
    size: int
    """Bytes on disk."""
    newest: datetime | None
    """When the most recently filed message was filed."""


@dataclass(frozen=True, slots=True)
class Inbox:
    """The mailboxes of a store, newest first, and the one-line errors of those unreadable."""

    mailboxes: list[MailboxInfo]
    errors: list[str]


class Mailbox:
    """One address's mail, open for reading: its mbox snapshot or its Maildir listing."""

    def __init__(
        self, address: str, mboxes: list[MboxSnapshot], maildirs: list[list[MaildirFile]]
    ) -> None:
        self.address = address
        self._mboxes = mboxes
        self._maildirs = maildirs

    def messages(self) -> Iterator[StoredMessage]:
        """Every message, in delivery order (an mbox before a Maildir, should both exist)."""
        for snapshot in self._mboxes:
            yield from iter_mbox(snapshot.fd, 0, snapshot.size)
        for files in self._maildirs:
            for item in files:
                stored = item.read()
                if stored is not None:  # removed since it was listed
                    yield stored

    def rows(self) -> Iterator[tuple[int, StoredMessage, Summary]]:
        """The table: each message's number, bytes and header summary."""
        for index, stored in enumerate(self.messages(), start=1):
            yield index, stored, summarize(stored)

    def message(self, index: int | None) -> tuple[int, StoredMessage]:
        """Message number `index` (from 1), or the last one when `index` is None.

        An mbox is scanned up to the message; a Maildir message is read alone.
        """
        count = 0
        last: StoredMessage | MaildirFile | None = None
        for snapshot in self._mboxes:
            for stored in iter_mbox(snapshot.fd, 0, snapshot.size):
                count += 1
                if count == index:
                    return count, stored
                last = stored
        for files in self._maildirs:
            if index is not None and index - count <= len(files):
                return index, _read(files[index - count - 1], index)
            count += len(files)
            last = files[-1] if files else last
        if index is None and last is not None:
            return count, last if isinstance(last, StoredMessage) else _read(last, count)
        if count == 0:
            what = "message" if index is None else f"message {index}"
            raise NoSuchMessage(f"no {what} in {self.address}: it is empty")
        raise NoSuchMessage(f"no message {index} in {self.address}: it holds {_messages(count)}")


def _read(item: MaildirFile, index: int) -> StoredMessage:
    stored = item.read()
    if stored is None:
        raise NoSuchMessage(f"message {index} was removed while it was read; try again")
    return stored


def _messages(count: int) -> str:
    return f"{count} message" + ("" if count == 1 else "s")


class Store:
    """A store directory, read without changing anything in it."""

    def __init__(self, root: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.root = root
        self.lock_timeout = lock_timeout

    def mailbox_files(self) -> list[MailboxFile]:
        """Every mailbox in the store; dot entries (the server's journal) and others skipped."""
        found: list[MailboxFile] = []
        try:
            scan = os.scandir(self.root)
        except FileNotFoundError:
            return found
        except NotADirectoryError:
            raise ReaderError(f"the store {self.root} is not a directory") from None
        with scan as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.name.endswith(MBOX_SUFFIX) and entry.is_file(follow_symlinks=False):
                    name = entry.name.removesuffix(MBOX_SUFFIX)
                    found.append(MailboxFile(Path(entry.path), "mbox", name))
                elif entry.is_dir(follow_symlinks=False) and is_maildir(entry.path):
                    found.append(MailboxFile(Path(entry.path), "maildir", entry.name))
        return found

    # -- inbox -----------------------------------------------------------------------

    def inbox(self) -> Inbox:
        """Every mailbox with its address, message count, size and newest date."""
        merged: dict[str, MailboxInfo] = {}
        errors: list[str] = []
        for mailbox in self.mailbox_files():
            try:
                info = self._info(mailbox)
            except (ReaderError, OSError) as error:
                errors.append(f"{mailbox.path.name}: {_reason(error)}")
                continue
            merged[info.address] = _merge(merged.get(info.address), info)
        rows = sorted(merged.values(), key=lambda row: row.address)
        rows.sort(
            key=lambda row: row.newest.timestamp() if row.newest else float("-inf"), reverse=True
        )
        return Inbox(rows, errors)

    def _info(self, mailbox: MailboxFile) -> MailboxInfo:
        address = address_from_name(mailbox.name)
        first: StoredMessage | None = None
        if mailbox.format == "mbox":
            with open_mbox(mailbox.path, timeout=self.lock_timeout) as snapshot:
                counted = count_mbox(snapshot.fd, snapshot.size)
                if address is None and counted.count:
                    first = read_first(snapshot.fd, snapshot.size)
            newest = envelope_time(counted.last_line) if counted.last_line else None
            count, size = counted.count, snapshot.size
        else:
            files = list_maildir(mailbox.path)
            count, size = len(files), sum(item.size for item in files)
            newest = files[-1].delivered if files else None
            if address is None and files:
                first = files[0].read()
        if address is None:
            delivered_to = summarize(first).delivered_to if first else None
            address = (delivered_to or mailbox.name).lower()
        return MailboxInfo(address, count, size, newest)

    # -- one mailbox -----------------------------------------------------------------

    def locate(self, address: str) -> tuple[str, list[MailboxFile]]:
        """The address as given (its source route dropped) and its mailboxes on disk.

        Raises NotAnAddress when `address` is not an address and names no mailbox either.
        """
        if self.root.exists() and not self.root.is_dir():
            raise ReaderError(f"the store {self.root} is not a directory")
        try:
            wanted = validate_mailbox(address.strip(), allow_postmaster=True)
            valid = True
        except AddressError:
            wanted, valid = address.strip(), False
        found: list[MailboxFile] = []
        if wanted:
            for fmt in ("mbox", "maildir"):
                try:
                    path = mailbox_path(self.root, wanted, fmt)
                except ValueError:
                    continue
                if os.path.lexists(path):
                    found.append(MailboxFile(path, fmt, path.name.removesuffix(MBOX_SUFFIX)))
        if not found and not valid:
            raise NotAnAddress(f"not an address: {address!r}")
        return wanted, found

    @contextmanager
    def open(self, address: str) -> Iterator[Mailbox]:
        """Open `address`'s mailbox for reading; a mailbox that does not exist is empty."""
        wanted, files = self.locate(address)
        with ExitStack() as stack:
            mboxes: list[MboxSnapshot] = []
            maildirs: list[list[MaildirFile]] = []
            for mailbox in files:
                if mailbox.format == "mbox":
                    try:
                        mboxes.append(
                            stack.enter_context(open_mbox(mailbox.path, timeout=self.lock_timeout))
                        )
                    except FileNotFoundError:
                        continue  # removed since it was found
                else:
                    maildirs.append(_maildir(mailbox.path))
            # Shown as the server names it: in lower case.
            yield Mailbox(wanted.lower(), mboxes, maildirs)


def _maildir(path: Path) -> list[MaildirFile]:
    if not path.is_dir():
        raise DamagedMailbox(f"{path.name} is not a Maildir (not a directory)")
    # The server makes the directory, then tmp/, new/ and cur/ in it: an empty one is a
    # Maildir being made, one with something else in it is no Maildir. Listed first,
    # looked into second: what the listing saw can only have been joined by a subdirectory.
    entries = os.listdir(path)
    if entries and not any((path / part).is_dir() for part in _MAILDIR_PARTS):
        raise DamagedMailbox(f"{path.name} is not a Maildir (no tmp/, new/ or cur/)")
    return list_maildir(path)


def _merge(old: MailboxInfo | None, new: MailboxInfo) -> MailboxInfo:
    """One line for an address that has both an mbox and a Maildir."""
    if old is None:
        return new
    dates = [date for date in (old.newest, new.newest) if date is not None]
    return MailboxInfo(
        new.address, old.count + new.count, old.size + new.size, max(dates, default=None)
    )


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
