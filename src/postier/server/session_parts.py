"""What the parts of an SMTP session share: the session's state and the calls one part
makes of another, declared once for the type checker (`SmtpSession` sets and defines
them; `session_message` and `session_tls` hold the parts that are jobs of their own)."""

from __future__ import annotations

import asyncio

from postier.protocol.smtp import Reply, ServerConnection
from postier.server.context import End, ServerContext
from postier.server.late_writer import LateWriter
from postier.server.narration import SessionNarrator
from postier.store import Spool


class SessionParts(asyncio.Protocol):
    """The state of one session, as every part of it sees it."""

    context: ServerContext
    conn: ServerConnection
    transport: asyncio.Transport | None
    narrator: SessionNarrator | None
    peer: str
    peer_ip: str
    tls_info: str | None
    _loop: asyncio.AbstractEventLoop
    _late: LateWriter
    _spool: Spool | None
    _spool_failed: bool
    _accepted: int
    _refused: int
    _lines_seen: int
    _end: End

    def _process(self) -> None:
        raise NotImplementedError

    def _answer(self, answer: Reply) -> None:
        raise NotImplementedError

    def _write(self, transport: asyncio.Transport, data: bytes) -> None:
        raise NotImplementedError
