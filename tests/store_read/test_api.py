"""The reader package's public names."""

from __future__ import annotations

import postier.store.read


def test_exported_names() -> None:
    assert sorted(postier.store.read.__all__) == [
        "Arrival",
        "Attachment",
        "DEFAULT_INTERVAL",
        "DamagedMailbox",
        "Inbox",
        "Mailbox",
        "MailboxBusy",
        "MailboxInfo",
        "MessageView",
        "NoSuchMessage",
        "NotAnAddress",
        "ReaderError",
        "Store",
        "StoredMessage",
        "Summary",
        "Watcher",
        "follow",
        "summarize",
        "view",
    ]
    for name in postier.store.read.__all__:
        assert getattr(postier.store.read, name) is not None
