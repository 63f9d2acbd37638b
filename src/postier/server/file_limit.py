"""The open-file limit: lifted to what the connections need, or the connections cut to it."""

from __future__ import annotations

import logging
import resource
from typing import Final

log = logging.getLogger("postier.server")

FILE_RESERVE: Final = 256
"""Descriptors kept free of clients: mailboxes held open, the journal, spool files of
large messages, TLS, logging; and the one a refused client takes while it hears 421."""


def connections_within_file_limit(max_connections: int) -> int:
    """Lift the soft limit on open files to what `max_connections` clients need; the
    number of clients that may be served at once (fewer if the hard limit is lower).

    Past the limit accept() fails and a client would be dropped without a word; below
    it, the client over the limit is accepted and hears 421.
    """
    wanted = max_connections + FILE_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    allowed = max(1, soft - FILE_RESERVE)
    log.warning(
        "the open-file limit (%d) allows %d connections at once, not %d",
        soft,
        allowed,
        max_connections,
    )
    return allowed
