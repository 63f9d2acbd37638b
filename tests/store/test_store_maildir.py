"""The Maildir store: exact bytes on disk, and what Python's `mailbox` reads back."""

from __future__ import annotations

import re
import socket
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postier.store import DeliveryError, MaildirStore
from postier.store.maildir import unique_name
from tests.store.helpers import MESSAGE, envelope, maildir_messages, spool, spy_fsync

TRACE = (
    b"Return-Path: <expediteur@exemple.fr>\n"
    b"Delivered-To: destinataire@exemple.fr\n"
    b"Received: from client.exemple.fr (unknown [192.0.2.7])\n"
    b"\tby mx.exemple.fr (postier) with ESMTP id Q1\n"
    b"\tfor <destinataire@exemple.fr>; Fri, 27 Nov 2026 02:23:09 +0000\n"
)
MAILDIR = "destinataire@exemple.fr"


def deliver(store_dir: Path, data: bytes, **fields: object) -> None:
    with MaildirStore(store_dir) as store, spool(data) as message:
        store.deliver(envelope(**fields), message)


def test_exact_bytes_on_disk(store_dir: Path) -> None:
    data = b"Subject: x\r\n\r\nFrom here\r\n8-bit \xe9\xff\r\nbare\rCR\r\nno newline"
    deliver(store_dir, data)
    [path] = (store_dir / MAILDIR / "new").iterdir()
    assert (
        path.read_bytes()
        == TRACE + b"Subject: x\n\nFrom here\n8-bit \xe9\xff\nbare\rCR\nno newline"
    )
    assert list((store_dir / MAILDIR / "tmp").iterdir()) == []
    assert list((store_dir / MAILDIR / "cur").iterdir()) == []


def test_read_back_by_python_mailbox(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE)
    deliver(store_dir, MESSAGE, queue_id="Q2")
    messages = maildir_messages(store_dir / MAILDIR)
    assert messages == [
        TRACE + b"From: a@b\nSubject: test\n\nHello.\n",
        TRACE.replace(b" id Q1", b" id Q2") + b"From: a@b\nSubject: test\n\nHello.\n",
    ]


def test_one_copy_per_mailbox(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE, recipients=("A@x", "a@x", "b@x"))
    [first] = maildir_messages(store_dir / "a@x")
    [second] = maildir_messages(store_dir / "b@x")
    assert b"Delivered-To: A@x\n" in first
    assert b"Delivered-To: b@x\n" in second


def test_private_modes(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE)
    for directory in (store_dir, store_dir / MAILDIR, *(store_dir / MAILDIR).iterdir()):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    [path] = (store_dir / MAILDIR / "new").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unique_names_follow_the_convention() -> None:
    names = {unique_name("host\\057x") for _ in range(1000)}
    assert len(names) == 1000
    for name in names:
        assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\.host\\057x", name)


def test_a_file_name_tells_when_its_message_was_received(store_dir: Path) -> None:
    # The same date as an mbox's `From ` line: the envelope's, not the clock's at filing.
    received = datetime(2026, 11, 27, 2, 23, 9, 250_000, tzinfo=UTC)
    deliver(store_dir, MESSAGE, received_at=received)
    [path] = (store_dir / MAILDIR / "new").iterdir()
    assert path.name.startswith(f"{int(received.timestamp())}.M250000P")
    same_time = {unique_name("h", received) for _ in range(100)}
    assert len(same_time) == 100  # still unique when the times are equal


def test_host_name_is_sanitised(monkeypatch: pytest.MonkeyPatch, store_dir: Path) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "a/b:c")
    deliver(store_dir, MESSAGE)
    [path] = (store_dir / MAILDIR / "new").iterdir()
    assert path.name.endswith(".a\\057b\\072c")


def test_invalid_recipient_stores_nothing(store_dir: Path) -> None:
    with pytest.raises(DeliveryError):
        deliver(store_dir, MESSAGE, recipients=("ok@x", ""))
    assert [path.name for path in store_dir.iterdir()] == [".postier"]


def test_maildir_removed_while_running_is_made_again(store_dir: Path) -> None:
    with MaildirStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(), message)
        for sub in ("new", "cur", "tmp"):
            for path in (store_dir / MAILDIR / sub).iterdir():
                path.unlink()
            (store_dir / MAILDIR / sub).rmdir()
        (store_dir / MAILDIR).rmdir()
        with pytest.raises(DeliveryError):
            store.deliver(envelope(), message)
        store.deliver(envelope(), message)
    assert len(maildir_messages(store_dir / MAILDIR)) == 1


def test_new_maildir_is_made_durable(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MaildirStore(store_dir) as store, spool(MESSAGE) as message:
        synced = spy_fsync(monkeypatch)
        store.deliver(envelope(), message)
        first = list(synced)
        synced.clear()
        store.deliver(envelope(), message)
    maildir = f"{store_dir.resolve()}/{MAILDIR}"
    assert {str(store_dir.resolve()), maildir, f"{maildir}/new"} <= set(first)
    assert f"{maildir}/new" in synced
    assert maildir not in synced
    assert sum(path.startswith(f"{maildir}/tmp/") for path in synced) == 1
