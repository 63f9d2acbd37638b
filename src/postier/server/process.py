"""One server process: its shared resources and its listeners, from start to graceful stop."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from postier.chaos import Chaos, FixedChaos
from postier.relay import Deliverer, RelayIntake
from postier.server.allocator import return_large_buffers
from postier.server.file_limit import connections_within_file_limit
from postier.server.http import HttpListener, HttpOptions
from postier.server.listener import SmtpListener, announce_workers, unoffered_verbs
from postier.server.pop3_listener import Pop3Listener
from postier.server.relay_service import RelayService
from postier.server.resources import Shared
from postier.server.service import Ready, Service, run_services
from postier.settings import Settings

if TYPE_CHECKING:
    from postier.checks import ChecksConfig
    from postier.server.webhooks import WebhookService

log = logging.getLogger("postier.server")


def services(settings: Settings, shared: Shared) -> list[Service]:
    """The listeners of a process, on one event loop; the first one's addresses are the
    ones `listening on` names. SMTP and the HTTP API share one `Chaos`: a change
    through the API holds for SMTP's next command."""
    kind = FixedChaos if settings.workers > 1 else Chaos
    chaos = kind(settings.chaos, seed=settings.chaos_seed)
    intake, relaying = relay_parts(settings, shared)
    others: list[Service] = [*relaying]
    hooks = webhooks(settings, shared)
    stored = None
    if hooks is not None:
        others.append(hooks)
        stored = hooks.submit
    if settings.pop3 and shared.reader is not None:
        others.append(Pop3Listener(settings, shared, log_at_start=settings.workers > 1))
    if not settings.http or shared.reader is None:
        return [
            SmtpListener(settings, shared, chaos=chaos, relay=intake, stored=stored),
            *others,
        ]
    records = None
    if settings.sessions_kept > 0:
        from postier.explain import SessionRecords, mailbox_paths

        records = SessionRecords(
            settings.sessions_kept,
            line_limit=settings.protocol_config().command_line_limit,
            fsync=settings.fsync,
            unoffered=unoffered_verbs(settings),
            mailbox_paths=functools.partial(mailbox_paths, settings.store, settings.format),
        )
    smtp = SmtpListener(settings, shared, records=records, chaos=chaos, relay=intake, stored=stored)
    host, port = settings.http_address
    http = HttpListener(
        shared.reader,
        host,
        port,
        store=settings.store,
        smtp=smtp.counts,
        sessions=records,
        chaos=chaos,
        relay=shared.relay if shared.relay.upstream is not None else None,
        hostname=settings.hostname,
        submit=smtp.submission_address,
        optional=settings.http_port is None,
        log_at_start=settings.workers > 1,
        metrics=shared.metrics,
        look=None if shared.indexer is None else shared.indexer.look,
        options=HttpOptions(
            auth=settings.http_auth,
            failure_delay=settings.auth_failure_delay,
            tls=shared.tls if settings.http_tls else None,
            allow_hosts=settings.http_allow_host,
            checks=checks_config(settings),
        ),
    )
    return [smtp, *others, http]


def relay_parts(settings: Settings, shared: Shared) -> tuple[RelayIntake | None, list[Service]]:
    """What takes accepted mail into the outbound queue, and the deliverer that sends
    it (in the process that delivers: the first worker's)."""
    relay, queue = shared.relay, shared.outbound
    if queue is None or relay.upstream is None:
        return None, []
    if not relay.match:
        log.warning(
            "--relay %s without --relay-match: nothing is relayed, releases only", relay.upstream
        )
    if not settings.relay_delivers:
        return (RelayIntake(relay, queue) if relay.relays else None), []
    deliverer = Deliverer(queue, relay, hostname=settings.hostname)
    shown = " | ".join(p.pattern for p in relay.match) or "nothing"
    if relay.exclude:
        shown += " except " + " | ".join(p.pattern for p in relay.exclude)
    service = RelayService(deliverer, matches=shown)
    intake = RelayIntake(relay, queue, committed=deliverer.queued) if relay.relays else None
    return intake, [service]


def webhooks(settings: Settings, shared: Shared) -> WebhookService | None:
    """What posts each message this process stores to the `--webhook` URLs (each worker
    posts its own)."""
    if not settings.webhook or shared.reader is None:
        return None
    from postier.server.webhooks import WebhookService

    return WebhookService(
        settings.webhook,
        shared.reader,
        settings.format,
        limit=settings.webhook_limit,
        timeout=settings.webhook_timeout,
    )


async def serve(
    settings: Settings, *, on_ready: Ready | None = None, announce: bool = True
) -> None:
    """Run the server until SIGINT or SIGTERM, then stop it gracefully.

    `announce`: log the `listening on` line (a worker leaves it to its parent).
    """
    return_large_buffers()
    allowed = connections_within_file_limit(settings.max_connections)
    if allowed != settings.max_connections:
        settings = replace(settings, max_connections=allowed)
    shared = Shared.open(settings)
    try:
        await run_services(
            services(settings, shared), reload=shared.reload, on_ready=on_ready, announce=announce
        )
    finally:
        shared.close()


def announce(settings: Settings, where: list[str]) -> None:
    """`--workers`' parent logs what its workers offer, where, once for them all."""
    announce_workers(settings, where)
    if settings.webhook:
        from postier.server.webhooks import described

        log.info("%s", described(settings.webhook, settings.webhook_limit))


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def checks_config(settings: Settings) -> ChecksConfig:
    """What the HTTP API's message checks may do (imports aiohttp: only with HTTP)."""
    from postier.checks import ChecksConfig, LinkPolicy, spamd_address

    spamd = None
    if settings.spamd is not None:
        spamd = spamd_address(settings.spamd, settings.spamd_timeout)
    links = LinkPolicy(
        enabled=settings.link_check,
        allow_private=settings.link_check_private,
        timeout=settings.link_check_timeout,
    )
    return ChecksConfig(spamd=spamd, links=links)
