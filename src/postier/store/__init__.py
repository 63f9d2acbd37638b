"""The Mail: keeps each recipient's mail in a mailbox named after them (mbox or Maildir)."""

from .batching import DEFAULT_MAX_BATCH, Batcher
from .envelope import Envelope
from .errors import DeliveryError, LockTimeoutError, StoreError
from .factory import detect_format, open_store
from .identity import is_delivery_id, is_message_id, postier_queue_id
from .interface import MailStore, MessageSource
from .maildir import MaildirStore
from .mbox import MboxStore
from .mboxrd import unquote_mboxrd
from .naming import MBOX_SUFFIX, StoreFormat, address_from_name, mailbox_name, mailbox_path
from .recovery import recover
from .spool import Spool

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
    "detect_format",
    "is_delivery_id",
    "is_message_id",
    "mailbox_name",
    "mailbox_path",
    "open_store",
    "postier_queue_id",
    "recover",
    "unquote_mboxrd",
]
