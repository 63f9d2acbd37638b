"""Large buffers go back to the system once freed, so a server's memory does not ratchet up.

A server holds large buffers for moments only: a chunk of a big message on its way to
the spool, the start of one being read into the index. glibc's allocator raises its
threshold for serving a request with its own mapping each time such a mapping is freed,
after which buffers of that size come from the heap of the thread that asked (the index
has its own), where freed memory mostly stays. Fixing the threshold keeps every buffer
of 128 KiB or more in a mapping of its own, returned to the system when freed
(mallopt(3): setting M_MMAP_THRESHOLD turns the adjustment off). Elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Final

M_MMAP_THRESHOLD: Final = -3
"""mallopt's parameter number, from glibc's malloc.h."""
MMAP_THRESHOLD: Final = 128 * 1024
"""glibc's own starting value."""


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold; whether it was done (False off glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
