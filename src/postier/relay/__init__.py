"""Passing mail on to a real server: the outbound queue, its deliverer, and release.

`config.py` says where mail goes and which recipients may be passed on; `intake.py`
takes an accepted message into the queue (`outbound.py`, on disk) around its delivery
to the store; `deliverer.py` sends what is due, with `postier send`'s client, and
retries what the upstream puts off; `release.py` sends one stored message at once.
"""

from postier.relay.config import (
    DEFAULT_MAX_AGE,
    DEFAULT_RETRY,
    RelayConfig,
    RelayConfigError,
    Upstream,
    parse_upstream,
    relay_config,
    upstream_of,
)
from postier.relay.deliverer import Deliverer
from postier.relay.entry import QueueEntry
from postier.relay.intake import RelayIntake
from postier.relay.outbound import Dropped, EntryBusyError, OutboundQueue, QueueError
from postier.relay.release import ReleaseError, release

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_RETRY",
    "Deliverer",
    "Dropped",
    "EntryBusyError",
    "OutboundQueue",
    "QueueEntry",
    "QueueError",
    "RelayConfig",
    "RelayConfigError",
    "RelayIntake",
    "ReleaseError",
    "Upstream",
    "parse_upstream",
    "relay_config",
    "release",
    "upstream_of",
]
