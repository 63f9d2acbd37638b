"""Checks one crash state once recovery ran on it, through two readers that share no code.

The promises checked (see `trace.Note`):
- every message whose client heard 250 before the crash is in each of its recipients'
  mailboxes exactly once, unless its expunge had begun (then at most once) or was done
  (then not at all);
- every message visible is one that was sent, to that mailbox, whole: its body byte for
  byte (a torn append or a copy renamed before its data was flushed shows here);
- every reader reads every mailbox: postier's `Reader` reports no damaged mailbox, and
  Python's `mailbox` module (mutt's view of an mbox or a Maildir) parses each one, an
  mbox starting with its `From ` line.

A message never acknowledged may be there or not (once at most): its client was never
told, and will send it again.
"""

from __future__ import annotations

import mailbox
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from postier.store import MBOX_SUFFIX, address_from_name
from postier.store.maildir_layout import is_maildir
from postier.store.read import Reader

from .trace import Sent

_TOKEN = re.compile(rb"^Message-ID: <([a-z0-9-]+)@crash\.test>$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Promises:
    """What holds at a crash point: the messages acked, and those being expunged or gone."""

    acked: frozenset[str]
    expunging: frozenset[str]
    expunged: frozenset[str]


def _body(raw: bytes) -> bytes:
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    return body.rstrip(b"\n")


class Visible:
    """The messages one reader shows: (address, token) counted, and what is wrong."""

    def __init__(self, reader: str, sent: dict[str, Sent]) -> None:
        self.reader = reader
        self._sent = sent
        self.counts: Counter[tuple[str, str]] = Counter()
        self.problems: list[str] = []

    def saw(self, address: str, raw: bytes) -> None:
        found = _TOKEN.search(raw)
        if found is None:
            self.problems.append(
                f"{self.reader}: {address}: a torn or foreign message (no Message-ID of ours)"
            )
            return
        token = found.group(1).decode()
        sent = self._sent.get(token)
        if sent is None or address not in sent.recipients:
            self.problems.append(f"{self.reader}: {address}: {token} was not sent there")
            return
        if _body(raw) != sent.body.rstrip(b"\n"):
            self.problems.append(f"{self.reader}: {address}: {token} is torn or altered")
        self.counts[(address, token)] += 1

    def judge(self, promises: Promises) -> list[str]:
        problems = list(self.problems)
        for sent in self._sent.values():
            for address in sent.recipients:
                count = self.counts[(address, sent.token)]
                if sent.token in promises.expunged:
                    allowed: Iterable[int] = (0,)
                elif sent.token in promises.expunging or sent.token not in promises.acked:
                    allowed = (0, 1)
                else:
                    allowed = (1,)
                if count not in allowed:
                    what = "acked" if sent.token in promises.acked else "unacked"
                    problems.append(
                        f"{self.reader}: {address}: {what} {sent.token} seen {count} times"
                    )
        return problems


def read_with_postier(root: Path, sent: dict[str, Sent]) -> Visible:
    """Every message as postier's reader (the web UI, POP3, the CLI) shows it."""
    visible = Visible("postier", sent)
    with Reader(root, fsync=False, memory=True, lock_timeout=2.0) as reader:
        for summary in reader.mailboxes():
            page = reader.messages(summary.address, limit=None)
            for message in page.messages:
                visible.saw(summary.address, reader.read_bytes(message.id))
        visible.problems.extend(f"postier: {line}" for line in reader.errors)
    return visible


def read_with_stdlib(root: Path, sent: dict[str, Sent]) -> Visible:
    """Every message as Python's `mailbox` (an independent mbox/Maildir parser) reads it."""
    visible = Visible("stdlib", sent)
    for entry in sorted(os.listdir(root)):
        if entry.startswith("."):
            continue
        path = root / entry
        box: mailbox.Mailbox
        if entry.endswith(MBOX_SUFFIX) and path.is_file():
            address = address_from_name(entry.removesuffix(MBOX_SUFFIX)) or entry
            head = path.read_bytes()[:5]
            if head and head != b"From ":
                visible.problems.append(f"stdlib: {entry} does not start with a From line")
            box = mailbox.mbox(path, create=False)
        elif path.is_dir() and is_maildir(path):
            address = address_from_name(entry) or entry
            box = mailbox.Maildir(path, factory=None, create=False)
        else:
            continue
        try:
            for key in box.iterkeys():
                visible.saw(address, box.get_bytes(key))
        finally:
            box.close()
    return visible


def check(root: Path, sent: dict[str, Sent], promises: Promises) -> list[str]:
    """What is wrong with the recovered store at `root`; empty when all promises hold."""
    problems: list[str] = []
    for visible in (read_with_stdlib(root, sent), read_with_postier(root, sent)):
        problems.extend(visible.judge(promises))
    return problems
