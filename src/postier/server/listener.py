"""The SMTP listener: binds SMTP's ports and starts a session for each client that connects."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from postier.chaos import Chaos
from postier.relay import RelayIntake
from postier.server.binding import Endpoint, addresses, listen
from postier.server.context import ServerContext
from postier.server.delivery import DeliveryQueue
from postier.server.errors import ServerError
from postier.server.resources import Shared
from postier.server.service import Service
from postier.server.session import SmtpSession
from postier.settings import Settings
from postier.stats import SmtpCounts
from postier.store import Envelope

if TYPE_CHECKING:
    from postier.explain import Explainer, SessionRecords

log = logging.getLogger("postier.server")


class SmtpListener(Service):
    """SMTP on `--port` (with STARTTLS when there is a certificate), and SMTPS (TLS from
    the first byte, RFC 8314) on `--tls-port`; one delivery queue for both."""

    def __init__(
        self,
        settings: Settings,
        shared: Shared,
        *,
        records: SessionRecords | None = None,
        chaos: Chaos | None = None,
        relay: RelayIntake | None = None,
        stored: Callable[[Envelope], None] | None = None,
    ) -> None:
        self._settings = settings
        self._relay = relay
        """Takes the relayed part of accepted mail into the outbound queue (None: none)."""
        self._stored = stored
        """Told of each message stored (the webhooks), None: nobody."""
        self._shared = shared
        self._records = records
        """Where sessions are recorded for the page (None: they are not)."""
        self._chaos = chaos or Chaos(settings.chaos, seed=settings.chaos_seed)
        self._servers: list[asyncio.Server] = []
        self._context: ServerContext | None = None

    async def start(self) -> list[str]:
        settings, shared, records = self._settings, self._shared, self._records
        metrics = shared.metrics
        deliveries = DeliveryQueue(
            shared.store, asyncio.get_running_loop(), on_stored=shared.delivered,
            flush_time=None if metrics is None else metrics.flush,
        )  # fmt: skip
        context = ServerContext(
            settings, shared.store, deliveries, shared.tls, shared.accounts, shared.logins,
            explain=explainer(settings, records), chaos=self._chaos, relay=self._relay,
            stored=self._stored,
            metrics=metrics,
        )  # fmt: skip
        self._context = context
        try:
            self._servers.append(
                await listen(self._endpoint(settings.port), lambda: SmtpSession(context))
            )
            if settings.tls_port is not None:
                # SIGHUP loads a new certificate into this same context (`Shared.reload`).
                implicit = await listen(
                    self._endpoint(settings.tls_port),
                    lambda: SmtpSession(context, implicit_tls=True),
                    shared.tls,
                )
                self._servers.append(implicit)
        except ServerError:
            for server in self._servers:
                server.close()
            await deliveries.close()
            raise
        return addresses(self._servers[0])

    def _endpoint(self, port: int) -> Endpoint:
        settings = self._settings
        return Endpoint(settings.host, port, settings.workers > 1, settings.timeout)

    def announce(self) -> None:
        """The log lines that say what the server offers, where (tests read the port here)."""
        settings, context = self._settings, self._running()
        where = addresses(self._servers[0])
        starttls = context.ssl_context is not None
        log.info("%s", listening_line(settings, where, starttls=starttls))
        for server in self._servers[1:]:
            log.info("implicit TLS (SMTPS) on %s", ", ".join(addresses(server)))
        patterns = context.policy.patterns
        if patterns:
            log.info(
                "recipients: accept %s; reject %s",
                " | ".join(p.pattern for p in patterns.accept) or "all",
                " | ".join(p.pattern for p in patterns.reject) or "none",
            )
        if self._chaos.config.active:
            seed = settings.chaos_seed
            log.warning(
                "chaos: %s (%s)",
                self._chaos.config.describe(),
                "random seed" if seed is None else f"seed {seed}",
            )
        if context.accounts is not None:
            log.info(
                "AUTH %s (%s)%s%s",
                " ".join(settings.auth_mechanisms),
                "any login accepted" if context.accounts.accepts_any else settings.auth,
                ", also without TLS" if settings.auth_insecure else ", over TLS only",
                ", required" if settings.auth_required else "",
            )

    def submission_address(self) -> tuple[str, int] | None:
        """Where a client of this process reaches its SMTP port (`POST /api/v1/send`
        submits there): a socket's own address, loopback in place of a wildcard, IPv4
        first; None before it starts."""
        found = [sock.getsockname() for server in self._servers[:1] for sock in server.sockets]
        found.sort(key=lambda name: ":" in name[0])
        for name in found:
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(name[0], name[0])
            return host, int(name[1])
        return None

    def counts(self) -> SmtpCounts:
        """What it accepted and refused so far (none before it starts)."""
        return self._context.counts if self._context is not None else SmtpCounts()

    def reload(self) -> None:
        """SIGHUP: new logins check the password file just loaded (the certificate is
        reloaded in place, see `Shared.reload`)."""
        self._running().accounts = self._shared.accounts

    async def stop(self) -> None:
        context = self._running()
        log.info("shutting down: %d sessions open", len(context.sessions))
        for server in self._servers:
            server.close()
        await context.shutdown()
        # Deliveries already queued are stored before we exit.
        await context.deliveries.close()

    def _running(self) -> ServerContext:
        if self._context is None:
            raise RuntimeError("the SMTP listener has not started")
        return self._context


def announce_workers(settings: Settings, where: list[str]) -> None:
    """`--workers`' parent's log lines, in place of each worker's own."""
    listening = listening_line(settings, where, starttls=settings.tls_enabled)
    log.info("%s; %d workers", listening, settings.workers)
    if settings.tls_port is not None:
        log.info("implicit TLS (SMTPS) on %s:%d", settings.host, settings.tls_port)


def listening_line(settings: Settings, where: list[str], *, starttls: bool) -> str:
    """The log line that says where the server listens and what it stores where: one
    process or `--workers` alike (tests and benchmarks read the port in it)."""
    return "listening on {}; store {} ({}{}){}".format(
        ", ".join(where),
        settings.store,
        settings.format,
        "" if settings.fsync else ", no fsync",
        ", STARTTLS" if starttls else "",
    )


def explainer(settings: Settings, records: SessionRecords | None) -> Explainer | None:
    """`--explain`: the narration of every session, printed on standard output; and the
    sessions kept for the page (`records`). None: neither, and no cost at all."""
    if not settings.explain and records is None:
        return None
    from postier.explain import Explainer, TerminalPrinter, as_language

    language = as_language(settings.lang, os.environ)
    return Explainer(
        language,
        TerminalPrinter(language) if settings.explain else None,
        records=records,
        store=settings.store,
        format=settings.format,
        line_limit=settings.protocol_config().command_line_limit,
        fsync=settings.fsync,
        unoffered=unoffered_verbs(settings),
    )


def unoffered_verbs(settings: Settings) -> frozenset[str]:
    """Commands the core knows that this server does not offer: the narration does not
    suggest them."""
    offers = (("STARTTLS", settings.tls_enabled), ("AUTH", settings.auth != "none"))
    return frozenset(verb for verb, offered in offers if not offered)
