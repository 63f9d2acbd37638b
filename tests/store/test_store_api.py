"""The package's public face: its names, `open_store` and `detect_format`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import postier.store
from postier.store import (
    MaildirStore,
    MailStore,
    MboxStore,
    StoreError,
    StoreFormat,
    detect_format,
    open_store,
)
from tests.store.helpers import MESSAGE, envelope, spool

PUBLIC = {
    "Batcher",
    "DEFAULT_MAX_BATCH",
    "DeliveryError",
    "Envelope",
    "LockTimeoutError",
    "MBOX_SUFFIX",
    "MailStore",
    "MaildirStore",
    "MboxStore",
    "MessageSource",
    "Spool",
    "StoreError",
    "StoreFormat",
    "address_from_name",
    "delivery_id",
    "detect_format",
    "fsync_dir",
    "is_delivery_id",
    "is_message_id",
    "mailbox_file_name",
    "mailbox_name",
    "mailbox_path",
    "make_private_dir",
    "open_store",
    "postier_queue_id",
    "recover",
    "relay_trace",
    "unquote_mboxrd",
    "write_all",
}


def test_public_names() -> None:
    assert set(postier.store.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(postier.store, name) is not None


@pytest.mark.parametrize(("fmt", "kind"), [("mbox", MboxStore), ("maildir", MaildirStore)])
def test_open_store(store_dir: Path, fmt: StoreFormat, kind: type) -> None:
    store: MailStore = open_store(store_dir / "deep", fmt)
    try:
        assert isinstance(store, kind)
        assert store.format == fmt
        assert store.path == (store_dir / "deep").resolve()
        with spool(MESSAGE) as message:
            store.deliver(envelope(), message)
    finally:
        store.close()
    for directory in (store_dir, store_dir / "deep"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert detect_format(store_dir / "deep") == fmt


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(tmp_path / "missing") is None
    assert detect_format(tmp_path) is None
    (tmp_path / ".postier").mkdir()
    (tmp_path / "stray.txt").write_text("x")
    (tmp_path / "notamaildir").mkdir()
    assert detect_format(tmp_path) is None
    for sub in ("tmp", "new", "cur"):
        (tmp_path / "a@x" / sub).mkdir(parents=True)
    assert detect_format(tmp_path) == "maildir"
    (tmp_path / "a@x").rename(tmp_path / "was-a-maildir")
    (tmp_path / "was-a-maildir" / "cur").rmdir()
    (tmp_path / "b@x.mbox").write_bytes(b"")
    assert detect_format(tmp_path) == "mbox"


@pytest.mark.parametrize(("first", "second"), [("mbox", "maildir"), ("maildir", "mbox")])
def test_open_store_refuses_the_other_format(
    store_dir: Path, first: StoreFormat, second: StoreFormat
) -> None:
    store = open_store(store_dir, first)
    with spool(MESSAGE) as message:
        store.deliver(envelope(), message)
    store.close()
    with pytest.raises(StoreError, match=f"holds {first} mailboxes"):
        open_store(store_dir, second)


def test_open_store_on_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(tmp_path / "file", "mbox")
