"""The workload recorded, and the commit scheme it runs under.

A commit scheme is how the store makes a batch durable before its 250s and repairs a
half-done one at start. Today's is the journal (`store.journal`: the record flushed,
then the mailboxes); the explorer takes the scheme as a parameter (`CommitScheme`) so that
another (an xattr-based one) is explored by the same scenario and checks.

The scenario, on an empty store: deliveries to two or three recipients in one batch and
in several; a batch whose process dies half-way (after its appends or renames, before
its flush returns), which the next start's recovery repairs; a delivery after that; an
expunge (mbox: logged, then compacted by rename; Maildir: an unlink), and a delivery
after it. Its acks are taken where the server answers 250: when `deliver_batch` returns
None for a message (`server.delivery`, with `settle=False`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from postier.store import Envelope, MailStore, Spool, StoreFormat, open_store
from postier.store.read import Reader

from .recorder import Recorder, SimulatedDeath
from .trace import Sent, Trace

WHEN = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "alice@crash.test", "bob@crash.test", "carol@crash.test"


class CommitScheme(Protocol):
    """How a store commits a batch; what the explorer needs of it."""

    @property
    def name(self) -> str:
        """What the tests call it."""
        ...

    def open(self, root: Path, fmt: StoreFormat) -> MailStore:
        """The store as `postier serve` opens it (recovering it first), flushing."""
        ...

    def recover(self, root: Path, fmt: StoreFormat) -> None:
        """What a start runs on a store a crash left (no need to flush: nothing follows)."""
        ...

    def drop_dead(self, store: MailStore) -> None:
        """Let go of a store whose process died: its descriptors (and so its locks) go,
        with no step on the disk, as when the kernel reaps a killed process."""
        ...


@dataclass(frozen=True)
class JournalScheme:
    """The journal: a record flushed before anything is appended or renamed, cleared after."""

    name: str = "journal"

    def open(self, root: Path, fmt: StoreFormat) -> MailStore:
        return open_store(root, fmt, fsync=True, lock_timeout=5.0)

    def recover(self, root: Path, fmt: StoreFormat) -> None:
        open_store(root, fmt, fsync=False, lock_timeout=2.0).close()

    def drop_dead(self, store: MailStore) -> None:
        # The store's own state, read as a kill would leave it: no method of it may run.
        journal = store._journal  # type: ignore[attr-defined]
        if journal._file is not None:
            os.close(journal._file.fd)
            journal._file = None
        os.close(journal.dir_fd)
        for opened in getattr(store, "_files", {}).values():
            os.close(opened.fd)
        store._flusher.close()  # type: ignore[attr-defined]
        store._closed = True  # type: ignore[attr-defined]


JOURNAL = JournalScheme()


def message(token: str, recipients: Sequence[str], lines: int) -> tuple[bytes, bytes]:
    """A message that names its token in its Message-ID and in each body line, and the
    body a reader must find."""
    body = b"".join(b"line %d of %s\n" % (n, token.encode()) for n in range(lines))
    body += b"END %s\n" % token.encode()
    head = (
        f"From: sender@crash.test\nTo: {', '.join(recipients)}\nSubject: crash {token}\n"
        f"Message-ID: <{token}@crash.test>\n\n"
    ).encode()
    return head + body, body


class Workload:
    """Runs the scenario's steps against the store, telling the recorder what it promised."""

    def __init__(self, recorder: Recorder, scheme: CommitScheme, fmt: StoreFormat) -> None:
        self.recorder = recorder
        self.scheme = scheme
        self.fmt = fmt
        self.root = Path(recorder.root)
        self.trace: Trace = recorder.trace
        self.trace.fmt = fmt
        self._count = 0

    def _item(self, recipients: Sequence[str], lines: int) -> tuple[str, Envelope, Spool]:
        self._count += 1
        token = f"m{self._count}"
        data, body = message(token, recipients, lines)
        self.trace.sent[token] = Sent(token, tuple(r.lower() for r in recipients), body)
        envelope = Envelope(
            sender="sender@crash.test", recipients=tuple(recipients), helo="client.crash.test",
            peer_ip="192.0.2.1", server_name="mx.crash.test", protocol="ESMTP",
            queue_id=f"Q{self._count}", received_at=WHEN,
        )  # fmt: skip
        spool = Spool()
        spool.write(data)
        return token, envelope, spool

    def deliver(self, store: MailStore, *batch: tuple[Sequence[str], int]) -> None:
        """One `deliver_batch` of messages (recipients, body lines); acks those stored."""
        items = [self._item(recipients, lines) for recipients, lines in batch]
        try:
            results = store.deliver_batch([(e, s) for _, e, s in items], settle=False)
        finally:
            for _, _, spool in items:
                spool.close()
        stored = (token for (token, _, _), error in zip(items, results, strict=True) if not error)
        self.recorder.note("ack", tuple(stored))

    def deliver_and_die(
        self, store: MailStore, barrier: int, *batch: tuple[Sequence[str], int]
    ) -> None:
        """A batch whose process dies at its `barrier`-th flush, never acked; the store is
        unusable after it either way."""
        self.recorder.die_at_barrier(barrier)
        try:
            self.deliver(store, *batch)
        except SimulatedDeath:
            self.scheme.drop_dead(store)
        else:
            # A mutant that skips flushes never reaches that one: the batch went through
            # (and was acked); the process then stops as a clean one would.
            self.recorder.revive()
            store.close()
        self.recorder.revive()

    def expunge(self, token: str) -> None:
        """Delete every copy of `token` as a reader does (`Reader.delete`, waiting)."""
        self.recorder.note("expunge", (token,))
        with Reader(self.root, fsync=True, memory=True, lock_timeout=5.0) as reader:
            ids = [
                summary.id
                for mailbox in reader.mailboxes()
                for summary in reader.messages(mailbox.address, limit=None).messages
                if f"<{token}@crash.test>".encode() in reader.read_bytes(summary.id)
            ]
            assert ids, f"{token} is not in the store"
            reader.delete(ids, wait=True)
        self.recorder.note("expunged", (token,))


DEATH_BARRIER: dict[StoreFormat, int] = {"mbox": 2, "maildir": 4}
"""Which flush of the dying batch kills it: mbox, the mailboxes' (after the record, its
appends made); Maildir, the first `new/` directory's (its copies flushed and renamed)."""


def run_scenario(root: Path, scheme: CommitScheme, fmt: StoreFormat) -> Trace:
    """Record the scenario on the empty directory `root`; its trace."""
    root.mkdir(mode=0o700)
    recorder = Recorder(root)
    with recorder.active():
        work = Workload(recorder, scheme, fmt)
        store = scheme.open(root, fmt)
        work.deliver(store, ((ALICE, BOB), 20))
        work.deliver(store, ((BOB, CAROL), 5), ((ALICE,), 40))
        store.settle()
        work.deliver_and_die(store, DEATH_BARRIER[fmt], ((ALICE, CAROL), 30))
        store = scheme.open(root, fmt)  # the next start: recovery, recorded
        try:
            work.deliver(store, ((ALICE,), 10))
            store.settle()
            work.expunge("m1")
            work.deliver(store, ((ALICE, BOB), 8))
        finally:
            store.close()
    return recorder.trace
