"""The reader package's public names."""

from __future__ import annotations

import postier.store.read


def test_exported_names() -> None:
    assert sorted(postier.store.read.__all__) == [
        "Attachment",
        "BadQuery",
        "BadTag",
        "Change",
        "ChangeKind",
        "DEFAULT_INTERVAL",
        "DamagedMailbox",
        "HereRounds",
        "IndexFailure",
        "Indexer",
        "Located",
        "MAX_DEPTH",
        "MailboxBusy",
        "MailboxSummary",
        "MessageSummary",
        "MessageView",
        "NoSuchMailbox",
        "NoSuchMessage",
        "NotAnAddress",
        "Page",
        "READ_TROUBLE",
        "Reader",
        "ReaderError",
        "Rounds",
        "StoredMessage",
        "Watcher",
        "all_mail_counts",
        "decode_header",
        "delivery_lead",
        "entries_located",
        "follow",
        "header_end",
        "is_body",
        "locate_address",
        "located",
    ]
    for name in postier.store.read.__all__:
        assert getattr(postier.store.read, name) is not None
