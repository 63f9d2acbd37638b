"""Passing mail on to a real server: the outbound queue, its deliverer, and release.

`config.py` says where mail goes and which recipients may be passed on; `intake.py`
takes an accepted message into the queue (`outbound.py`, on disk) around its delivery
to the store; `deliverer.py` sends what is due, with `postier send`'s client, and
retries what the upstream puts off; `release.py` sends one stored message at once.
"""

from postier.relay.config import (
    RelayConfig,
    RelayConfigError,
    Upstream,
    parse_upstream,
    upstream_of,
)
from postier.relay.entry import QueueEntry
from postier.relay.outbound import Dropped, EntryBusyError, OutboundQueue, QueueError

__all__ = [
    "Dropped",
    "EntryBusyError",
    "OutboundQueue",
    "QueueEntry",
    "QueueError",
    "RelayConfig",
    "RelayConfigError",
    "Upstream",
    "parse_upstream",
    "upstream_of",
]
