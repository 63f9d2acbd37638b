"""The store's exceptions.

    StoreError            anything the store cannot do (bad directory, wrong format, I/O)
    ├── DeliveryError     a message was not stored; every copy already written was rolled back
    └── LockTimeoutError  a mailbox stayed locked by someone else for too long

A `DeliveryError`'s text is short and safe for the log; the details (the OS error) are
logged where they happen and never travel to the SMTP client, which only hears
`451 4.3.0` (RFC 3463 §3.4, "other or undefined mail system status").
"""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked."""


class DeliveryError(StoreError):
    """A delivery failed and left no copy behind: the client may retry without duplicates."""


class LockTimeoutError(StoreError):
    """A mailbox stayed locked by another process or thread past the caller's limit."""
