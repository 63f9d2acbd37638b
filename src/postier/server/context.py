"""What the sessions of one server share: settings, store, delivery queue, TLS, the roll.

Also what a session hands off to them: checking a login, storing a message, and the
words the log gives to how a session ended.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from postier.chaos import Chaos
from postier.ends import EndReason
from postier.protocol.smtp import Credentials, MessageComplete, Reply, ServerConfig, catalogue
from postier.relay import RelayIntake
from postier.server.accounts import Accounts
from postier.server.client_limits import ClientLimits, Over
from postier.server.delivery import DeliveryQueue
from postier.server.logins import Logins
from postier.server.narration import Narrators
from postier.server.policy import EnvelopePolicy, RecipientPatterns
from postier.server.queue_ids import new_queue_id
from postier.settings import Settings
from postier.stats import SmtpCounts
from postier.store import Envelope, MailStore, Spool

if TYPE_CHECKING:
    from postier.metrics import Metrics

log = logging.getLogger("postier.server")


@dataclass(frozen=True, slots=True)
class End:
    """An `EndReason` and what the log adds to it: a cause, or the last reply."""

    reason: EndReason
    detail: str = ""

    def __str__(self) -> str:
        if self.reason is EndReason.CLOSED:
            return self.detail
        if self.reason is EndReason.REFUSED:
            return f"{self.reason.value}: {self.detail}"
        return f"{self.reason.value} ({self.detail})" if self.detail else self.reason.value


class Session(Protocol):
    """What the context asks of a session it holds: to stop, gently or at once."""

    def shutdown(self, *, force: bool = False) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TurnedAway:
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
    logins: Logins | None = None
    """The process's (shared with POP3); None: one of its own, closed with it."""
    config: ServerConfig = field(init=False)
    sessions: set[Session] = field(default_factory=set)
    closing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    limits: ClientLimits = field(init=False)
    counts: SmtpCounts = field(default_factory=SmtpCounts)
    explain: Narrators | None = None
    """`--explain`: makes each session's narrator; None: no narration, and no cost."""
    _own_logins: bool = field(init=False, default=False)
    chaos: Chaos = field(default_factory=Chaos)
    """Shared with the HTTP API of the same process (`PUT /api/v1/chaos`)."""
    policy: EnvelopePolicy = field(init=False)
    relay: RelayIntake | None = None
    """Takes the copy of each accepted message that is passed on into the outbound
    queue, before the 250 (None: nothing is relayed)."""
    stored: Callable[[Envelope], None] | None = None
    """Told of each message stored, before its 250 (the webhooks' `submit`): must not
    wait, nor raise."""
    metrics: Metrics | None = None
    """`--metrics`: what the sessions count; None: nothing is counted."""

    def __post_init__(self) -> None:
        self.config = self.settings.protocol_config()
        self._own_logins = self.logins is None
        if self.logins is None:
            self.logins = Logins(self.accounts, self.settings.auth_failure_delay)
        self.limits = ClientLimits(
            max_connections=self.settings.max_client_connections,
            max_errors=self.settings.max_client_errors,
            error_window=self.settings.client_error_window,
            exempt=self.settings.client_limit_exempt,
        )
        self.idle.set()
        patterns = RecipientPatterns(self.settings.accept, self.settings.reject)
        self.policy = EnvelopePolicy(patterns, self.chaos)

    def admit(self, session: Session, ip: str) -> TurnedAway | None:
        """Take a session from `ip` on, or say why not: the server is full or stopping,
        or that address is over its own limits."""
        hostname = self.config.hostname
        if self.closing:
            return TurnedAway(catalogue.shutting_down(hostname), "server shutting down")
        if len(self.sessions) >= self.settings.max_connections:
            reason = f"too many connections (limit {self.settings.max_connections})"
            return TurnedAway(catalogue.too_many_connections(hostname), reason)
        over = self.limits.refusal(ip)
        if over is not None:
            if over.limit is Over.CONNECTIONS:
                return TurnedAway(catalogue.too_many_connections_from_you(hostname), over.reason)
            return TurnedAway(catalogue.too_many_errors_from_you(hostname), over.reason)
        self.sessions.add(session)
        self.limits.opened(ip)
        if self.metrics is not None:
            self.metrics.session_opened()
        self.idle.clear()
        return None

    def release(self, session: Session, ip: str) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.limits.closed(ip)
            if self.metrics is not None:
                self.metrics.session_closed()
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
        if self._own_logins and self.logins is not None:
            self.logins.close()

    async def check_login(self, credentials: Credentials, failures: int, peer: str) -> bool:
        """Check a login on a thread and answer a failure late (see `Logins.check`)."""
        assert self.logins is not None
        return await self.logins.check(credentials, failures, peer, log=log)

    async def deliver(
        self,
        event: MessageComplete,
        spool: Spool,
        *,
        peer_ip: str,
        peer: str,
        tls: str | None,
        queue_id: str | None = None,
    ) -> Reply:
        """Store one message through the delivery queue as `queue_id` (None: a new one);
        the reply the client hears."""
        queue_id = queue_id or new_queue_id()
        envelope = Envelope(
            sender=event.sender,
            recipients=event.recipients,
            helo=event.helo,
            peer_ip=peer_ip,
            server_name=self.config.hostname,
            protocol=event.protocol,
            queue_id=queue_id,
            received_at=datetime.now(UTC),
            auth_user=event.auth_user,
            tls_info=tls,
        )
        relayed = self.relay.selected(event.recipients) if self.relay is not None else ()
        try:
            if relayed:
                await self._deliver_and_relay(envelope, spool, relayed, event.smtputf8)
            else:
                await self.deliveries.deliver(envelope, spool)
        except Exception:
            # The details go to the log; the client hears only 451 (no OS text leaks).
            log.exception("delivery of %s from <%s> failed", queue_id, event.sender)
            self.counts.rejected += 1
            return catalogue.delivery_failed()
        if self.stored is not None:
            self.stored(envelope)
        self.counts.accepted += 1
        self.counts.accepted_size += event.size
        log.info(
            "accepted %s from <%s> for %s %s, %d bytes%s",
            queue_id,
            event.sender,
            addresses(event.recipients),
            peer,
            event.size,
            "" if event.auth_user is None else f", user {event.auth_user!r}",
        )
        return catalogue.stored(queue_id)

    async def _deliver_and_relay(
        self, envelope: Envelope, spool: Spool, relayed: tuple[str, ...], smtputf8: bool
    ) -> None:
        """Store the message and queue its relayed copy: both, or neither and an error.

        The copy is staged (written and flushed) first, the store delivers, then the
        copy enters the queue. A store that fails takes its copies back and the staged
        copy is discarded: the client hears 451 and sends again, nothing doubled.
        """
        assert self.relay is not None
        staged = await self.relay.stage(envelope, spool, relayed, smtputf8=smtputf8)
        try:
            await self.deliveries.deliver(envelope, spool)
        except BaseException:
            await self.relay.discard(staged)
            raise
        await self.relay.commit(staged)
        log.info(
            "queued %s (%s) for relay to %s", staged.entry.id, envelope.queue_id,
            addresses(relayed),
        )  # fmt: skip


def addresses(recipients: tuple[str, ...]) -> str:
    """Recipients as the log writes them."""
    return ", ".join(f"<{r}>" for r in recipients)
