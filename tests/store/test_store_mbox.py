"""The mbox store: exact bytes on disk, and what Python's `mailbox` reads back."""

from __future__ import annotations

import email
import stat
from email.policy import default
from pathlib import Path

import pytest

from postier.store import DeliveryError, MboxStore, unquote_mboxrd
from tests.store.helpers import MESSAGE, envelope, mbox_messages, spool, spy_fsync

TRACE = (
    b"Return-Path: <expediteur@exemple.fr>\n"
    b"Delivered-To: destinataire@exemple.fr\n"
    b"Received: from client.exemple.fr (unknown [192.0.2.7])\n"
    b"\tby mx.exemple.fr (postier) with ESMTP id Q1\n"
    b"\tfor <destinataire@exemple.fr>; Fri, 27 Nov 2026 02:23:09 +0000\n"
)
FROM_LINE = b"From expediteur@exemple.fr Fri Nov 27 02:23:09 2026\n"


def deliver(store_dir: Path, data: bytes, **fields: object) -> None:
    with MboxStore(store_dir) as store, spool(data) as message:
        store.deliver(envelope(**fields), message)


def test_exact_bytes_on_disk(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE)
    deliver(store_dir, b"Subject: two\r\n\r\nFrom here\r\n>From there\r\nno newline")
    assert (store_dir / "destinataire@exemple.fr.mbox").read_bytes() == (
        FROM_LINE
        + TRACE
        + b"From: a@b\nSubject: test\n\nHello.\n\n"
        + FROM_LINE
        + TRACE
        + b"Subject: two\n\n>From here\n>>From there\nno newline\n\n"
    )


def test_read_back_by_python_mailbox(store_dir: Path) -> None:
    data = (
        b"From: a@b\r\nSubject: caf\xc3\xa9\r\n\r\n"
        b"8-bit: \xe9\xff\x00\r\nFrom the start\r\n>From quoted\r\nbare\rCR\r\n"
    )
    deliver(store_dir, data)
    deliver(store_dir, b"Subject: second\r\n\r\nlast line without newline")
    first, second = mbox_messages(store_dir / "destinataire@exemple.fr.mbox")
    assert first == TRACE + data.replace(b"\r\n", b"\n")
    assert second == TRACE + b"Subject: second\n\nlast line without newline\n"
    parsed = email.message_from_bytes(first, policy=default)
    assert parsed["Return-Path"] == "<expediteur@exemple.fr>"
    assert parsed["Delivered-To"] == "destinataire@exemple.fr"
    assert "by mx.exemple.fr (postier) with ESMTP id Q1" in parsed["Received"]


def test_from_lines_in_the_body_do_not_split_the_message(store_dir: Path) -> None:
    deliver(store_dir, b"Subject: x\r\n\r\nFrom me to you\r\n\r\nFrom again\r\n")
    [only] = mbox_messages(store_dir / "destinataire@exemple.fr.mbox")
    assert only.endswith(b"\n\nFrom me to you\n\nFrom again\n")
    raw = (store_dir / "destinataire@exemple.fr.mbox").read_bytes()
    assert raw.count(b"\nFrom ") == 0 and raw.startswith(b"From ")
    assert unquote_mboxrd(raw).count(b"\nFrom ") == 2


def test_one_copy_per_mailbox(store_dir: Path) -> None:
    recipients = ("A@X.org", "b@x.org", "a@x.org", "B@X.ORG", "c@x.org")
    deliver(store_dir, MESSAGE, recipients=recipients)
    assert sorted(path.name for path in store_dir.iterdir()) == [
        ".postier",
        "a@x.org.mbox",
        "b@x.org.mbox",
        "c@x.org.mbox",
    ]
    for name, first_spelling in [
        ("a@x.org", "A@X.org"),
        ("b@x.org", "b@x.org"),
        ("c@x.org", "c@x.org"),
    ]:
        [copy] = mbox_messages(store_dir / f"{name}.mbox")
        assert f"Delivered-To: {first_spelling}\n".encode() in copy
        assert f"for <{first_spelling}>;".encode() in copy


def test_null_sender(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE, sender="")
    raw = (store_dir / "destinataire@exemple.fr.mbox").read_bytes()
    assert raw.startswith(b"From MAILER-DAEMON Fri Nov 27 02:23:09 2026\nReturn-Path: <>\n")


def test_empty_message(store_dir: Path) -> None:
    deliver(store_dir, b"")
    deliver(store_dir, MESSAGE)
    raw = (store_dir / "destinataire@exemple.fr.mbox").read_bytes()
    assert raw.startswith(FROM_LINE + TRACE + b"\n" + FROM_LINE)
    assert len(mbox_messages(store_dir / "destinataire@exemple.fr.mbox")) == 2


def test_big_message_in_several_chunks(store_dir: Path) -> None:
    line = b"0123456789" * 7 + b"\r\n"
    body = line * 40_000 + b"From the middle\r\n" + line * 40_000  # about 6 MiB
    with MboxStore(store_dir) as store, spool(b"Subject: big\r\n\r\n" + body, 1 << 16) as message:
        store.deliver(envelope(), message)
    [copy] = mbox_messages(store_dir / "destinataire@exemple.fr.mbox")
    assert copy == TRACE + b"Subject: big\n\n" + body.replace(b"\r\n", b"\n")


def test_private_modes(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE)
    assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((store_dir / "destinataire@exemple.fr.mbox").stat().st_mode) == 0o600


def test_nothing_is_left_in_the_journal(store_dir: Path) -> None:
    deliver(store_dir, MESSAGE)
    assert list((store_dir / ".postier" / "journal").iterdir()) == []


@pytest.mark.parametrize("recipients", [(), ("",), ("ok@x", "")])
def test_invalid_recipients_store_nothing(store_dir: Path, recipients: tuple[str, ...]) -> None:
    with pytest.raises(DeliveryError):
        deliver(store_dir, MESSAGE, recipients=recipients)
    assert [path.name for path in store_dir.iterdir()] == [".postier"]


def test_closed_store_refuses_deliveries(store_dir: Path) -> None:
    store = MboxStore(store_dir)
    store.close()
    with pytest.raises(DeliveryError), spool(MESSAGE) as message:
        store.deliver(envelope(), message)


def test_mailbox_replaced_between_deliveries_gets_the_next_message(store_dir: Path) -> None:
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        store.deliver(envelope(), message)
        path = store_dir / "destinataire@exemple.fr.mbox"
        path.rename(store_dir / "archived")  # a reader moves the mailbox away
        store.deliver(envelope(queue_id="Q2"), message)
    [copy] = mbox_messages(path)
    assert b" id Q2\n" in copy
    assert len(mbox_messages(store_dir / "archived")) == 1


def test_many_mailboxes_beyond_the_open_file_limit(store_dir: Path) -> None:
    recipients = tuple(f"user{index}@x" for index in range(10))
    with MboxStore(store_dir, open_files=3) as store, spool(MESSAGE) as message:
        for _ in range(3):
            store.deliver(envelope(recipients=recipients), message)
    for recipient in recipients:
        assert len(mbox_messages(store_dir / f"{recipient}.mbox")) == 3


def test_new_mailbox_name_is_made_durable(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MboxStore(store_dir) as store, spool(MESSAGE) as message:
        synced = spy_fsync(monkeypatch)
        store.deliver(envelope(), message)
        first = list(synced)
        synced.clear()
        store.deliver(envelope(), message)
    directory = str(store_dir.resolve())
    mailbox = f"{directory}/destinataire@exemple.fr.mbox"
    assert first.count(mailbox) == 1
    assert directory in first  # the new file's name
    assert synced.count(mailbox) == 1
    assert directory not in synced
