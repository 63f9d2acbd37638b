"""Reading the store: its mailboxes, their messages, and new mail as it is filed."""

from .errors import DamagedMailbox, MailboxBusy, NoSuchMessage, NotAnAddress, ReaderError
from .mailboxes import Inbox, Mailbox, MailboxInfo, Store
from .message import Attachment, MessageView, view
from .scan import StoredMessage
from .summary import Summary, summarize
from .watch import DEFAULT_INTERVAL, Arrival, Watcher, follow

__all__ = [
    "DEFAULT_INTERVAL",
    "Arrival",
    "Attachment",
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
