"""`deliver_batch`: many messages handed over at once share one batch, each with its outcome."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from postier.store import DeliveryError, MaildirStore, MboxStore, mbox
from postier.store.batching import Batcher
from tests.store.helpers import envelope, maildir_messages, mbox_messages, spool, spy_fsync
from tests.support.mailboxes import journals as pending_journals


def message(n: int) -> bytes:
    return f"Subject: {n}\r\n\r\nFrom here on, message {n}.\r\n".encode()


def test_one_mbox_batch_syncs_each_file_once(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MboxStore(store_dir) as store:
        store.deliver(envelope(recipients=("one@x",)), spool(b"warm up\r\n"))  # journal made
        fsyncs = spy_fsync(monkeypatch)
        items = [
            (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n)))
            for n in range(40)
        ]
        assert store.deliver_batch(items) == [None] * 40
    copies = mbox_messages(store_dir / "one@x.mbox")
    assert len(copies) == 41
    assert copies[-1].endswith(b"\n\nFrom here on, message 39.\n")  # read back unquoted
    mailbox_syncs = [path for path in fsyncs if path.endswith("one@x.mbox")]
    assert len(mailbox_syncs) == 1, fsyncs
    journal_syncs = [path for path in fsyncs if path.endswith(".journal")]
    # The record (which says where the batch ends), then its clearing.
    assert len(journal_syncs) == 2, fsyncs
    assert len(fsyncs) <= 4  # and the journal directory, at closing


def test_a_batch_too_big_to_lay_out_first_flushes_a_completion(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("postier.store.mbox.RENDER_LIMIT", 100)
    with MboxStore(store_dir) as store:
        store.deliver(envelope(recipients=("one@x",)), spool(b"warm up\r\n"))
        fsyncs = spy_fsync(monkeypatch)
        items = [(envelope(recipients=("one@x",)), spool(message(n))) for n in range(3)]
        assert store.deliver_batch(items) == [None] * 3
    assert len(mbox_messages(store_dir / "one@x.mbox")) == 4
    journal_syncs = [path for path in fsyncs if path.endswith(".journal")]
    assert len(journal_syncs) == 3, fsyncs  # the record, the completion, the clearing


def test_a_bad_delivery_fails_alone(store_dir: Path) -> None:
    closed = spool(message(1))
    closed.close()  # reading it fails in the middle of the batch
    items = [
        (envelope(queue_id="ok1", recipients=("one@x",)), spool(message(0))),
        (envelope(queue_id="none", recipients=()), spool(message(9))),
        (envelope(queue_id="unreadable", recipients=("one@x", "two@x")), closed),
        (envelope(queue_id="ok2", recipients=("one@x", "two@x")), spool(message(2))),
    ]
    with MboxStore(store_dir) as store:
        outcomes = store.deliver_batch(items)
    assert [type(o).__name__ for o in outcomes] == [
        "NoneType",
        "DeliveryError",
        "DeliveryError",
        "NoneType",
    ]
    assert all("not stored" in str(o) or "no valid mailbox" in str(o) for o in outcomes if o)
    one = mbox_messages(store_dir / "one@x.mbox")
    assert [m.rsplit(b"message ", 1)[1] for m in one] == [b"0.\n", b"2.\n"]
    assert len(mbox_messages(store_dir / "two@x.mbox")) == 1


def test_maildir_batch(store_dir: Path) -> None:
    items = [
        (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n))) for n in range(10)
    ]
    with MaildirStore(store_dir) as store:
        assert store.deliver_batch(items) == [None] * 10
    assert len(maildir_messages(store_dir / "one@x")) == 10


def test_a_closed_store_refuses_a_batch(store_dir: Path) -> None:
    store = MboxStore(store_dir)
    store.close()
    outcomes = store.deliver_batch([(envelope(), spool(message(0)))])
    assert isinstance(outcomes[0], DeliveryError)


def test_submit_all_runs_requests_in_one_batch_when_idle() -> None:
    batches: list[list[int]] = []

    def run(requests: object) -> list[Exception | None]:
        batch = list(requests)  # type: ignore[call-overload]
        batches.append(batch)
        return [ValueError(r) if r == 2 else None for r in batch]

    batcher: Batcher[int] = Batcher(run, max_batch=3)
    outcomes = batcher.submit_all([0, 1, 2, 3, 4])
    assert batches == [[0, 1, 2], [3, 4]]  # split at max_batch, in order
    assert [o is None for o in outcomes] == [True, True, False, True, True]


def test_maildir_batch_flushes_its_files_from_several_threads(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    real = os.fsync

    def spy(fd: int) -> None:
        if "/tmp/" in os.readlink(f"/proc/self/fd/{fd}"):
            threads.add(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    items = [
        (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n))) for n in range(8)
    ]
    with MaildirStore(store_dir) as store:
        assert store.deliver_batch(items) == [None] * 8
    assert len(threads) > 1, threads  # one thread each in turn would wait for a commit each
    assert len(maildir_messages(store_dir / "one@x")) == 8


def test_maildir_copy_that_cannot_be_flushed_fails_alone(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync
    victim = "Q3"

    def failing(fd: int) -> None:
        path = f"/proc/self/fd/{fd}"
        if os.path.isfile(path) and f"id {victim}\n".encode() in Path(path).read_bytes():
            raise OSError(errno.EIO, "I/O error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    items = [
        (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n))) for n in range(6)
    ]
    with MaildirStore(store_dir) as store:
        outcomes = store.deliver_batch(items)
    assert [o is None for o in outcomes] == [True, True, True, False, True, True]
    stored = maildir_messages(store_dir / "one@x")
    assert len(stored) == 5 and not any(b"id Q3\n" in m for m in stored)
    assert os.listdir(store_dir / "one@x" / "tmp") == []


def test_maildir_outcomes_keep_the_order_of_the_deliveries(store_dir: Path) -> None:
    closed = spool(message(1))
    closed.close()
    items = [
        (envelope(queue_id="Q0", recipients=("one@x",)), spool(message(0))),
        (envelope(queue_id="Q1", recipients=("one@x",)), closed),
        (envelope(queue_id="Q2", recipients=("one@x", "two@x")), spool(message(2))),
        (envelope(queue_id="Q3", recipients=()), spool(message(3))),
        (envelope(queue_id="Q4", recipients=("one@x",)), spool(message(4))),
    ]
    with MaildirStore(store_dir) as store:
        outcomes = store.deliver_batch(items)
    assert [o is None for o in outcomes] == [True, False, True, False, True]
    stored = maildir_messages(store_dir / "one@x")
    assert sorted(m.rsplit(b"message ", 1)[1] for m in stored) == [b"0.\n", b"2.\n", b"4.\n"]
    assert os.listdir(store_dir / "one@x" / "tmp") == []


def test_mbox_batch_flushes_its_mailboxes_together(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, set[str]] = {}
    real = os.fsync

    def spy(fd: int) -> None:
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        threads.setdefault(name, set()).add(threading.current_thread().name)
        real(fd)

    recipients = ("one@x", "two@x", "three@x", "four@x")
    monkeypatch.setattr(os, "fsync", spy)
    with MboxStore(store_dir) as store:
        assert store.deliver_batch([(envelope(recipients=recipients), spool(message(0)))]) == [None]
    mailboxes = {f"{r}.mbox" for r in recipients}
    assert mailboxes <= threads.keys()
    used = set().union(*(threads[name] for name in mailboxes))
    assert len(used) > 1, threads  # not one after the other on one thread
    assert "store" in threads  # the new names, in the same round


@pytest.mark.parametrize("kind", [MboxStore, MaildirStore])
def test_without_fsync_no_file_is_left_open(store_dir: Path, kind: type[MboxStore]) -> None:
    items = [
        (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n))) for n in range(5)
    ]
    before = len(os.listdir("/proc/self/fd"))
    with kind(store_dir, fsync=False) as store:
        store.deliver(envelope(recipients=("one@x",)), spool(message(9)))
        assert store.deliver_batch(items) == [None] * 5
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("kind", [MboxStore, MaildirStore])
def test_an_unsettled_batch_is_settled_by_close(store_dir: Path, kind: type[MboxStore]) -> None:
    """The server answers before the store settles; closing must still clear the record
    and let every file go."""
    before = len(os.listdir("/proc/self/fd"))
    store = kind(store_dir)
    items = [
        (envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n))) for n in range(3)
    ]
    assert store.deliver_batch(items, settle=False) == [None] * 3
    assert pending_journals(store_dir)  # answered, not yet settled
    store.close()
    assert pending_journals(store_dir) == []
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_batch_on_the_same_mailbox_clears_the_last_record_as_it_writes_its_own(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chain lasts CHAIN_SECONDS; a loaded machine may take longer between two batches,
    # which is not what is tested here.
    monkeypatch.setattr(mbox, "CHAIN_SECONDS", 3600.0)
    with MboxStore(store_dir) as store:
        store.deliver(envelope(recipients=("one@x",)), spool(b"warm up\r\n"))
        fsyncs = spy_fsync(monkeypatch)
        for n in range(5):
            items = [(envelope(queue_id=f"Q{n}", recipients=("one@x",)), spool(message(n)))]
            assert store.deliver_batch(items, settle=False) == [None]
        journal_syncs = [path for path in fsyncs if path.endswith(".journal")]
        assert len(journal_syncs) == 5, fsyncs  # one record each, no clearing between
        store.settle()
        assert pending_journals(store_dir) == []
    assert len(mbox_messages(store_dir / "one@x.mbox")) == 6
