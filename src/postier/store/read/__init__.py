"""The store's read side: its mailboxes, their messages by stable ID, search, read state,
deletion and the changes as they happen, through the index (`Reader`)."""

from .changes import Change, ChangeKind
from .errors import (
    BadQuery,
    DamagedMailbox,
    IndexFailure,
    MailboxBusy,
    NoSuchMailbox,
    NoSuchMessage,
    NotAnAddress,
    ReaderError,
)
from .indexer import Indexer
from .lookup import Located, locate_address
from .message import Attachment, MessageView
from .reader import Reader
from .results import MailboxSummary, MessageSummary, Page
from .scan import StoredMessage
from .watch import DEFAULT_INTERVAL, Watcher, follow

__all__ = [
    "DEFAULT_INTERVAL",
    "Attachment",
    "BadQuery",
    "Change",
    "ChangeKind",
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
