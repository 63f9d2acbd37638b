"""Failures: a delivery that fails leaves every mailbox exactly as it was."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from postier.store import DeliveryError, MaildirStore, MboxStore, Spool, recover
from postier.store import fileio as fileio_module
from postier.store.base import Delivery
from postier.store.copies import plan_copies
from postier.store.journal import SUFFIX
from postier.store.journal_record import holds_transaction
from tests.store.helpers import MESSAGE, envelope, mbox_messages, spool

RECIPIENTS = ("a@x", "b@x", "c@x")


def fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def fail_writes_to(monkeypatch: pytest.MonkeyPatch, marker: str) -> None:
    """Make writing a copy into a file whose path contains `marker` fail half-way (ENOSPC)."""
    real = fileio_module.write_chunks

    def failing(fd: int, chunks: Iterable[bytes], buffer_size: int = 1 << 18) -> int:
        if marker not in fd_path(fd):
            return real(fd, chunks, buffer_size)
        data = b"".join(chunks)
        fileio_module.write_all(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio_module, "write_chunks", failing)


def fail_calls(monkeypatch: pytest.MonkeyPatch, name: str, when: Callable[..., bool]) -> None:
    """Make `os.<name>` raise EIO whenever `when(*args)` is true."""
    real = getattr(os, name)

    def failing(*args: object, **kwargs: object) -> object:
        if when(*args):
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, failing)


def snapshot(store: Path, *, journal: bool = True) -> dict[str, bytes]:
    """Every file under `store` and its bytes; the journals holding a transaction too
    unless told otherwise (an open store's own journal, cleared, means nothing)."""
    return {
        str(path.relative_to(store)): path.read_bytes()
        for path in sorted(store.rglob("*"))
        if path.is_file()
        and (journal or ".postier" not in path.parts)
        and not (path.suffix == SUFFIX and not holds_transaction(path.read_bytes()))
    }


def journals(store: Path) -> list[str]:
    """The journals that still hold a transaction (to be rolled back)."""
    return [
        path.name
        for path in (store / ".postier" / "journal").iterdir()
        if holds_transaction(path.read_bytes())
    ]


@pytest.fixture
def mbox_store(store_dir: Path) -> Iterator[MboxStore]:
    with MboxStore(store_dir) as store:
        # Something already in each mailbox, which must survive untouched.
        with spool(MESSAGE) as message:
            store.deliver(envelope(recipients=RECIPIENTS, queue_id="before"), message)
        yield store


@pytest.fixture
def maildir_store(store_dir: Path) -> Iterator[MaildirStore]:
    with MaildirStore(store_dir) as store:
        with spool(MESSAGE) as message:
            store.deliver(envelope(recipients=RECIPIENTS, queue_id="before"), message)
        yield store


# -- mbox --------------------------------------------------------------------------


def test_mbox_write_failure_on_second_recipient_rolls_back_the_first(
    mbox_store: MboxStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    fail_writes_to(monkeypatch, "b@x.mbox")
    with pytest.raises(DeliveryError, match="Q1") as caught, spool(MESSAGE) as message:
        mbox_store.deliver(envelope(recipients=RECIPIENTS), message)
    assert "space" not in str(caught.value)  # no OS text in what the client may be told
    assert snapshot(store_dir) == before


def test_mbox_failed_delivery_does_not_stop_the_rest_of_its_batch(
    mbox_store: MboxStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writes_to(monkeypatch, "b@x.mbox")
    deliveries = [
        Delivery(env, spool(MESSAGE), plan_copies(store_dir.resolve(), env, "mbox"))
        for env in (
            envelope(recipients=("a@x",), queue_id="ok1"),
            envelope(recipients=("a@x", "b@x"), queue_id="bad"),
            envelope(recipients=("c@x", "a@x"), queue_id="ok2"),
        )
    ]
    errors = mbox_store._run_batch(deliveries)
    assert [error is None for error in errors] == [True, False, True]
    ids = {
        name: [copy.split(b" id ")[1].split(b"\n")[0] for copy in mbox_messages(store_dir / name)]
        for name in ("a@x.mbox", "b@x.mbox", "c@x.mbox")
    }
    assert ids == {
        "a@x.mbox": [b"before", b"ok1", b"ok2"],
        "b@x.mbox": [b"before"],
        "c@x.mbox": [b"before", b"ok2"],
    }


class BrokenMessage:
    """A message source that fails after its first chunk (a spool file that went bad)."""

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        yield b"Subject: broken\r\n\r\nfirst part\r\n"
        raise OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize("fixture", ["mbox_store", "maildir_store"])
def test_message_read_failure_rolls_back(
    fixture: str, store_dir: Path, request: pytest.FixtureRequest
) -> None:
    store: MboxStore | MaildirStore = request.getfixturevalue(fixture)
    before = snapshot(store_dir)
    with pytest.raises(DeliveryError):
        store.deliver(envelope(recipients=RECIPIENTS), BrokenMessage())
    assert snapshot(store_dir) == before


def test_mbox_fsync_failure_rolls_back_the_whole_batch(
    mbox_store: MboxStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    fail_calls(monkeypatch, "fsync", lambda fd: fd_path(fd).endswith("c@x.mbox"))
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        mbox_store.deliver(envelope(recipients=RECIPIENTS), message)
    monkeypatch.undo()
    assert snapshot(store_dir, journal=False) == before
    # The rollback could not be flushed either, so its journal stays for recovery...
    assert len(journals(store_dir)) == 1
    with spool(MESSAGE) as message:  # ...which the next delivery runs first.
        mbox_store.deliver(envelope(recipients=RECIPIENTS, queue_id="after"), message)
    assert journals(store_dir) == []
    assert len(mbox_messages(store_dir / "c@x.mbox")) == 2


def test_mbox_journal_failure_writes_nothing(
    mbox_store: MboxStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    for name in ("fsync", "fdatasync"):
        fail_calls(monkeypatch, name, lambda fd: fd_path(fd).endswith(".journal"))
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        mbox_store.deliver(envelope(recipients=RECIPIENTS), message)
    assert snapshot(store_dir) == before


def test_mbox_unusable_mailbox_fails_the_delivery_only(
    mbox_store: MboxStore, store_dir: Path
) -> None:
    (store_dir / "d@x.mbox").mkdir()
    before = snapshot(store_dir)
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        mbox_store.deliver(envelope(recipients=("a@x", "d@x")), message)
    assert snapshot(store_dir) == before
    with spool(MESSAGE) as message:
        mbox_store.deliver(envelope(recipients=("a@x",)), message)
    assert len(mbox_messages(store_dir / "a@x.mbox")) == 2


# -- Maildir -----------------------------------------------------------------------


def test_maildir_write_failure_on_second_recipient_leaves_nothing(
    maildir_store: MaildirStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    fail_writes_to(monkeypatch, "/b@x/tmp/")
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        maildir_store.deliver(envelope(recipients=RECIPIENTS), message)
    assert snapshot(store_dir) == before


def test_maildir_rename_failure_on_second_recipient_leaves_nothing(
    maildir_store: MaildirStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    fail_calls(monkeypatch, "rename", lambda source, target: "/b@x/" in str(source))
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        maildir_store.deliver(envelope(recipients=RECIPIENTS), message)
    assert snapshot(store_dir) == before


def test_maildir_directory_fsync_failure_leaves_nothing(
    maildir_store: MaildirStore, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(store_dir)
    fail_calls(monkeypatch, "fsync", lambda fd: fd_path(fd).endswith("/c@x/new"))
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        maildir_store.deliver(envelope(recipients=RECIPIENTS), message)
    monkeypatch.undo()
    assert snapshot(store_dir, journal=False) == before
    # The removal could not be flushed, so the journal stays for recovery.
    assert recover(store_dir) == 1
    assert snapshot(store_dir) == before


def test_spool_is_a_message_source() -> None:
    source: Spool = spool(b"x")
    assert list(source.chunks()) == [b"x"]
