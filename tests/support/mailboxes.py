"""Reading a store back with Python's own `mailbox` module, an independent reader.

The paths are spelled out here rather than taken from `postier.store.naming`: a test
that asked the code under test where to look could not catch it filing mail elsewhere.
"""

from __future__ import annotations

import mailbox
import os
import re
import time
from pathlib import Path

from postier.store.journal_record import holds_transaction

_MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)


def mbox_path(store: Path, address: str) -> Path:
    return store / f"{address.lower()}.mbox"


def mbox_messages(store: Path, address: str) -> list[bytes]:
    """Each message of `address`'s mbox as `mailbox.mbox` reads it (still mboxrd-quoted);
    [] when the mailbox does not exist."""
    path = mbox_path(store, address)
    if not path.exists():
        return []
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()


def mbox_from_lines(store: Path, address: str) -> list[str]:
    """The `From ` separator line of each message, as `mailbox.mbox` reads it."""
    box = mailbox.mbox(mbox_path(store, address), create=False)
    try:
        return [message.get_from() for message in box]
    finally:
        box.close()


def maildir_messages(store: Path, address: str) -> list[bytes]:
    """Each message of `address`'s Maildir (new/ and cur/), oldest file name first."""
    path = store / address.lower()
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    return [box.get_bytes(key) for key in sorted(box.iterkeys())]


def messages(store: Path, address: str, fmt: str) -> list[bytes]:
    """The messages of `address`, in either format; mbox quoting is undone (mboxrd)."""
    if fmt == "mbox":
        return [unquote_mboxrd(message) for message in mbox_messages(store, address)]
    return maildir_messages(store, address)


def unquote_mboxrd(data: bytes) -> bytes:
    """mboxrd reading: one `>` less on each `^>+From ` line."""
    return _MBOXRD_QUOTED.sub(rb"\1", data)


def split_trace(stored: bytes) -> tuple[dict[str, str], bytes]:
    """The three trace headers the server adds (unfolded), and the message after them."""
    lines = stored.split(b"\n")
    trace: dict[str, str] = {}
    index = 0
    for name in ("Return-Path", "Delivered-To", "Received"):
        head = lines[index].decode("utf-8")
        assert head.startswith(f"{name}: "), f"expected {name}: at line {index}: {head!r}"
        value = head[len(name) + 2 :]
        index += 1
        while index < len(lines) and lines[index][:1] in (b" ", b"\t"):
            value += " " + lines[index].decode("utf-8").strip()
            index += 1
        trace[name] = value
    return trace, b"\n".join(lines[index:])


def tree(root: Path) -> set[str]:
    """Every file and directory under `root`, as paths relative to it."""
    found: set[str] = set()
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


def settled_journals(store: Path, timeout: float = 5.0) -> list[str]:
    """`journals` once a running server has settled: it clears its last batch's record
    after answering, once idle for a moment (`server.delivery.SETTLE_AFTER`)."""
    deadline = time.monotonic() + timeout
    while (found := journals(store)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def journals(store: Path) -> list[str]:
    """The journals that hold a transaction (none once every delivery is over); a running
    store's own journal, cleared between batches, is not one."""
    path = store / ".postier" / "journal"
    if not path.is_dir():
        return []
    return sorted(
        name for name in os.listdir(path) if holds_transaction((path / name).read_bytes())
    )
