"""The store's read side: its mailboxes, their messages by stable ID, search, read state,
deletion and the changes as they happen, through the index (`Reader`)."""

from .changes import Change, ChangeKind
from .deliveries import all_mail_counts, delivery_lead, entries_located
from .errors import (
    READ_TROUBLE,
    BadQuery,
    BadTag,
    DamagedMailbox,
    IndexFailure,
    MailboxBusy,
    NoSuchMailbox,
    NoSuchMessage,
    NotAnAddress,
    ReaderError,
)
from .indexer import HereRounds, Indexer, Rounds
from .lookup import Located, locate_address, located
from .message import Attachment, MessageView
from .mime import MAX_DEPTH, is_body
from .reader import Reader
from .results import MailboxSummary, MessageSummary, Page
from .scan import StoredMessage
from .summary import decode_header, header_end
from .watch import DEFAULT_INTERVAL, Watcher, follow

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_DEPTH",
    "READ_TROUBLE",
    "Attachment",
    "BadQuery",
    "BadTag",
    "Change",
    "ChangeKind",
    "DamagedMailbox",
    "HereRounds",
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
