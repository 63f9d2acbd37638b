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
from .mailboxes import Inbox, Mailbox, MailboxInfo, Store
from .message import Attachment, MessageView, view
from .reader import Reader
from .results import MailboxSummary, MessageSummary, Page
from .scan import StoredMessage
from .summary import Summary, summarize
from .watch import DEFAULT_INTERVAL, Watcher, follow

__all__ = [
    "DEFAULT_INTERVAL",
    "Attachment",
    "BadQuery",
    "Change",
    "ChangeKind",
    "DamagedMailbox",
    "Inbox",
    "IndexFailure",
    "Indexer",
    "Located",
    "Mailbox",
    "MailboxBusy",
    "MailboxInfo",
    "MailboxSummary",
    "MessageSummary",
    "MessageView",
    "NoSuchMailbox",
    "NoSuchMessage",
    "NotAnAddress",
    "Page",
    "Reader",
    "ReaderError",
    "Store",
    "StoredMessage",
    "Summary",
    "Watcher",
    "follow",
    "locate_address",
    "summarize",
    "view",
]
