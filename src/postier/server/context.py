"""What the sessions of one server share: settings, store, delivery queue, TLS, the roll."""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postier.protocol import Reply, catalogue
from postier.protocol.config import ServerConfig
from postier.server.accounts import Accounts
from postier.server.auth_throttle import AuthThrottle
from postier.server.client_limits import ClientLimits, Over
from postier.server.delivery import DeliveryQueue
from postier.settings import Settings
from postier.store import MailStore

if TYPE_CHECKING:
    from postier.server.session import SmtpSession

log = logging.getLogger("postier.server")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a connection is not served: the reply it hears, and the log's words."""

    reply: Reply
    reason: str


@dataclass(slots=True)
class ServerContext:
    """The listener's state, handed to each session it starts."""

    settings: Settings
    store: MailStore
    deliveries: DeliveryQueue
    ssl_context: ssl.SSLContext | None = None
    """Its certificate is replaced on SIGHUP; each handshake takes the one current."""
    accounts: Accounts | None = None
    """Who may log in (AUTH); replaced on SIGHUP when it is a password file."""
    config: ServerConfig = field(init=False)
    throttle: AuthThrottle = field(init=False)
    auth_executor: ThreadPoolExecutor = field(init=False)
    sessions: set[SmtpSession] = field(default_factory=set)
    closing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    limits: ClientLimits = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.settings.protocol_config()
        delay = self.settings.auth_failure_delay
        self.throttle = AuthThrottle(base=delay, cap=16 * delay)
        # scrypt takes ~32 MiB and ~0.1 s per check: two at a time bounds both.
        self.auth_executor = ThreadPoolExecutor(2, thread_name_prefix="postier-auth")
        self.limits = ClientLimits(
            max_connections=self.settings.max_client_connections,
            max_errors=self.settings.max_client_errors,
            error_window=self.settings.client_error_window,
            exempt=self.settings.client_limit_exempt,
        )
        self.idle.set()

    def admit(self, session: SmtpSession, ip: str) -> Refusal | None:
        """Take a session from `ip` on, or say why not: the server is full or stopping,
        or that address is over its own limits."""
        hostname = self.config.hostname
        if self.closing:
            return Refusal(catalogue.shutting_down(hostname), "server shutting down")
        if len(self.sessions) >= self.settings.max_connections:
            reason = f"too many connections (limit {self.settings.max_connections})"
            return Refusal(catalogue.too_many_connections(hostname), reason)
        over = self.limits.refusal(ip)
        if over is not None:
            if over.limit is Over.CONNECTIONS:
                return Refusal(catalogue.too_many_connections_from_you(hostname), over.reason)
            return Refusal(catalogue.too_many_errors_from_you(hostname), over.reason)
        self.sessions.add(session)
        self.limits.opened(ip)
        self.idle.clear()
        return None

    def release(self, session: SmtpSession, ip: str) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.limits.closed(ip)
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
        self.auth_executor.shutdown(wait=False, cancel_futures=True)
