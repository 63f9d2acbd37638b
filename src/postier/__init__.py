"""postier: an SMTP toolkit: a server that files mail in mailboxes, a client, and readers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postier.client import Client, SyncClient

__version__ = "0.1.0"

__all__ = ["Client", "SyncClient", "__version__"]


def __getattr__(name: str) -> Any:
    # The client is loaded on first use, so `postier serve` does not pay for it.
    if name in ("Client", "SyncClient"):
        import postier.client

        return getattr(postier.client, name)
    raise AttributeError(f"module 'postier' has no attribute {name!r}")
