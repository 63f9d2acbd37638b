"""Group commit: many threads delivering at once share fsyncs, and every message arrives whole."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from postier.store import MaildirStore, MboxStore
from postier.store.base import BatchedStore
from tests.store.helpers import envelope, maildir_messages, mbox_messages, spool, spy_fsync

THREADS = 50
PER_THREAD = 20


def message(thread: int, index: int) -> bytes:
    return (
        f"Subject: {thread}-{index}\r\n\r\n".encode()
        + f"From thread {thread}\r\n".encode()
        + b"x" * 900
        + b"\r\n"
    )


def run_threads(store: BatchedStore, recipients: tuple[str, ...]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()
        for index in range(PER_THREAD):
            try:
                queue_id = f"{thread}-{index}"
                with spool(message(thread, index)) as data:
                    store.deliver(envelope(recipients=recipients, queue_id=queue_id), data)
            except BaseException as error:  # reported by the test
                errors.append(error)

    workers = [threading.Thread(target=work, args=(thread,)) for thread in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def expected() -> list[bytes]:
    return sorted(
        message(thread, index).replace(b"\r\n", b"\n")
        for thread in range(THREADS)
        for index in range(PER_THREAD)
    )


def bodies(messages: list[bytes]) -> list[bytes]:
    """Each message without its trace headers (the first five lines)."""
    return sorted(copy.split(b"\n", 5)[5] for copy in messages)


def test_mbox_batches_concurrent_deliveries(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs = spy_fsync(monkeypatch)
    with MboxStore(store_dir) as store:
        assert run_threads(store, ("one@x",)) == []
    total = THREADS * PER_THREAD
    copies = mbox_messages(store_dir / "one@x.mbox")
    assert len(copies) == total
    assert bodies(copies) == expected()
    # Each batch costs 3 syncs (the journal's record, the mailbox, the record cleared);
    # one per message or more would mean no batching.
    assert len(fsyncs) < total, f"{len(fsyncs)} fsyncs for {total} messages"


def test_mbox_batches_with_several_mailboxes(store_dir: Path) -> None:
    with MboxStore(store_dir) as store:
        assert run_threads(store, ("one@x", "Two@x", "two@x")) == []
    for name in ("one@x", "two@x"):
        assert bodies(mbox_messages(store_dir / f"{name}.mbox")) == expected()


def test_maildir_batches_concurrent_deliveries(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs = spy_fsync(monkeypatch)
    with MaildirStore(store_dir) as store:
        assert run_threads(store, ("one@x",)) == []
    total = THREADS * PER_THREAD
    assert bodies(maildir_messages(store_dir / "one@x")) == expected()
    # One fsync per file is unavoidable; the directories' are shared by a batch.
    assert len(fsyncs) < 2 * total, f"{len(fsyncs)} fsyncs for {total} messages"
