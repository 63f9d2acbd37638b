"""Helpers for the store's tests: envelopes with plausible values, spools, reading back."""

from __future__ import annotations

import mailbox
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from postier.store import Envelope, Spool, unquote_mboxrd

WHEN = datetime(2026, 11, 27, 2, 23, 9, tzinfo=UTC)
MESSAGE = b"From: a@b\r\nSubject: test\r\n\r\nHello.\r\n"


def envelope(**fields: Any) -> Envelope:
    """An envelope with plausible values, any of which a test may replace."""
    values: dict[str, Any] = {
        "sender": "expediteur@exemple.fr",
        "recipients": ("destinataire@exemple.fr",),
        "helo": "client.exemple.fr",
        "peer_ip": "192.0.2.7",
        "server_name": "mx.exemple.fr",
        "protocol": "ESMTP",
        "queue_id": "Q1",
        "received_at": WHEN,
    }
    values.update(fields)
    return Envelope(**values)


def spool(data: bytes, memory_limit: int = 1 << 20) -> Spool:
    """A spool holding `data`."""
    result = Spool(memory_limit=memory_limit)
    result.write(data)
    return result


def mbox_messages(path: Path) -> list[bytes]:
    """Each message of the mbox at `path` as Python's `mailbox` reads it, unquoted."""
    box = mailbox.mbox(path, create=False)
    try:
        return [unquote_mboxrd(box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()


def maildir_messages(path: Path) -> list[bytes]:
    """Each message of the Maildir at `path` as Python's `mailbox` reads it."""
    box = mailbox.Maildir(path, create=False)
    return sorted(box.get_bytes(key) for key in box.iterkeys())


def spy_fsync(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the path of every file or directory fsync'd (or fdatasync'd) from now on
    (Linux /proc)."""
    synced: list[str] = []
    for name in ("fsync", "fdatasync"):
        real = getattr(os, name)

        def spy(fd: int, real: Callable[[int], None] = real) -> None:
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
            real(fd)

        monkeypatch.setattr(os, name, spy)
    return synced
