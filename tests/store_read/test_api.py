"""The reader package's public names."""

from __future__ import annotations

import postier.store.read


def test_exported_names() -> None:
    assert sorted(postier.store.read.__all__) == [
        "Attachment",
        "BadQuery",
        "Change",
        "ChangeKind",
        "DEFAULT_INTERVAL",
        "DamagedMailbox",
        "IndexFailure",
        "Indexer",
        "Located",
        "MailboxBusy",
        "MailboxSummary",
        "MessageSummary",
        "MessageView",
        "NoSuchMailbox",
        "NoSuchMessage",
        "NotAnAddress",
        "Page",
        "Reader",
        "ReaderError",
        "StoredMessage",
        "Watcher",
        "follow",
        "locate_address",
    ]
    for name in postier.store.read.__all__:
        assert getattr(postier.store.read, name) is not None
