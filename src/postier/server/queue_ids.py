"""Queue ids: short names, unique across processes, that each name one transaction.

An id is a random prefix drawn once per process followed by a per-process counter, both
in base32 (16 characters of `A-Z2-7`): as unlikely to collide across processes as the
prefix is wide, never repeated within one, and far cheaper than drawing random bytes from
the kernel for every message.
"""

from __future__ import annotations

import base64
import itertools
import os
from typing import Final

PREFIX_BYTES: Final = 5
"""40 random bits per process: eight base32 characters."""
COUNTER_BYTES: Final = 5
"""40 bits of counter, eight base32 characters; it wraps after 2**40 messages."""
_COUNTER_MASK: Final = (1 << (8 * COUNTER_BYTES)) - 1


class _QueueIds:
    """The prefix and counter of this process."""

    def __init__(self) -> None:
        self.prefix = ""
        self.counter = itertools.count()
        self.draw()

    def draw(self) -> None:
        """A new prefix and counter; also in a forked child, which must not reuse its
        parent's."""
        self.prefix = base64.b32encode(os.urandom(PREFIX_BYTES)).decode("ascii")
        self.counter = itertools.count()

    def next(self) -> str:
        # next() on itertools.count is atomic under the GIL: safe from any thread.
        number = next(self.counter) & _COUNTER_MASK
        return self.prefix + base64.b32encode(number.to_bytes(COUNTER_BYTES, "big")).decode()


_ids = _QueueIds()
os.register_at_fork(after_in_child=_ids.draw)


def new_queue_id() -> str:
    """A short id, unique across processes, that names one transaction in logs and headers."""
    return _ids.next()
