"""The Mail: keeps each recipient's mail in a mailbox named after them (mbox or Maildir)."""

from .batching import DEFAULT_MAX_BATCH, Batcher
from .envelope import Envelope
from .errors import DeliveryError, LockTimeoutError, StoreError
from .factory import detect_format, open_store
from .fileio import fsync_dir, make_private_dir, write_all
from .identity import delivery_id, is_delivery_id, is_message_id, postier_queue_id
from .interface import MailStore, MessageSource
from .maildir import MaildirStore
from .mbox import MboxStore
from .mboxrd import unquote_mboxrd
from .naming import (
    MBOX_SUFFIX,
    StoreFormat,
    address_from_name,
    mailbox_file_name,
    mailbox_name,
    mailbox_path,
)
from .recovery import recover
from .spool import Spool
from .trace import relay_trace

__all__ = [
    "DEFAULT_MAX_BATCH",
    "MBOX_SUFFIX",
    "Batcher",
    "DeliveryError",
    "Envelope",
    "LockTimeoutError",
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
]
