"""What the sessions of one server share: settings, store, delivery threads, TLS, the roll."""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postier.protocol.config import ServerConfig
from postier.settings import Settings
from postier.store import MailStore

if TYPE_CHECKING:
    from postier.server.session import SmtpSession

log = logging.getLogger("postier.server")


@dataclass(slots=True)
class ServerContext:
    """The listener's state, handed to each session it starts."""

    settings: Settings
    store: MailStore
    executor: ThreadPoolExecutor
    ssl_context: ssl.SSLContext | None = None
    config: ServerConfig = field(init=False)
    sessions: set[SmtpSession] = field(default_factory=set)
    closing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.config = self.settings.protocol_config()
        self.idle.set()

    def admit(self, session: SmtpSession) -> bool:
        """Take a session on, unless the server is full or stopping."""
        if self.closing or len(self.sessions) >= self.settings.max_connections:
            return False
        self.sessions.add(session)
        self.idle.clear()
        return True

    def release(self, session: SmtpSession) -> None:
        self.sessions.discard(session)
        if not self.sessions:
            self.idle.set()

    async def shutdown(self) -> None:
        """421 to every client; a message under way gets `shutdown_grace` seconds to finish."""
        self.closing = True
        for session in list(self.sessions):
            session.shutdown()
        try:
            await asyncio.wait_for(self.idle.wait(), self.settings.shutdown_grace)
        except TimeoutError:
            log.warning(
                "%d sessions still busy after the grace period; closing them", len(self.sessions)
            )
            for session in list(self.sessions):
                session.shutdown(force=True)
            try:
                await asyncio.wait_for(self.idle.wait(), 5)
            except TimeoutError:
                for session in list(self.sessions):
                    session.abort()
