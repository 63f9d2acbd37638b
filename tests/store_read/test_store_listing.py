"""`Store.mailbox_files` reuses its last listing while the store directory's mtime says
nothing came or went, and never misses a mailbox because of it: not one made in the same
step of the file system's clock as the listing, not a Maildir still being made."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from postier.store.naming import mailbox_path
from postier.store.read.mailboxes import Store
from tests.store_read.helpers import deliver, plain

ALICE = "alice@example.org"
BOB = "bob@example.org"
OLD_NS = 60 * 1_000_000_000


def _age(path: Path) -> None:
    old = time.time_ns() - OLD_NS
    os.utime(path, ns=(old, old))


def _names(store: Store) -> list[str]:
    return sorted(mailbox.name for mailbox in store.mailbox_files())


def test_a_listing_is_reused_while_the_directory_is_unchanged(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(store, "mbox", [plain("one", "x\n")], [ALICE])
    _age(store)
    listing = Store(store)
    assert _names(listing) == [ALICE]
    monkeypatch.setattr(os, "scandir", None)  # a second listing would fail
    assert _names(listing) == [ALICE]


def test_a_mailbox_made_in_the_same_clock_step_is_found(store: Path) -> None:
    deliver(store, "mbox", [plain("one", "x\n")], [ALICE])
    listing = Store(store)
    assert _names(listing) == [ALICE]
    before = store.stat()
    deliver(store, "mbox", [plain("two", "y\n")], [BOB])
    os.utime(store, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same step
    assert _names(listing) == [ALICE, BOB]


def test_a_new_mailbox_is_found_and_a_maildir_being_made_once_it_is_one(store: Path) -> None:
    deliver(store, "mbox", [plain("one", "x\n")], [ALICE])
    making = mailbox_path(store, BOB, "maildir")
    making.mkdir()
    _age(store)
    listing = Store(store)
    assert _names(listing) == [ALICE]
    for sub in ("tmp", "new", "cur"):
        (making / sub).mkdir()
    assert _names(listing) == [ALICE, BOB]
    deliver(store, "mbox", [plain("two", "y\n")], ["carol@example.org"])
    assert _names(listing) == [ALICE, BOB, "carol@example.org"]
