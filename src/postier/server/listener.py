"""The listener: opens the port, starts a session per client, and stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from postier.server.accounts import AccountError, load_accounts
from postier.server.context import ServerContext
from postier.server.delivery import DeliveryQueue
from postier.server.session import SmtpSession
from postier.settings import Settings
from postier.store import StoreError, open_store

log = logging.getLogger("postier.server")


class ServerError(Exception):
    """The server cannot start; the message is one line for the user."""


def make_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A server-side TLS context from the configured certificate, TLS 1.2 at least."""
    if settings.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(f"cannot load the TLS certificate {settings.tls_cert}: {exc}") from None
    return context


# Descriptors kept free of clients: mailboxes held open, the journal, spool files of
# large messages, TLS, logging; and the one a refused client takes while it hears 421.
FILE_RESERVE = 256


def fit_connections_to_file_limit(settings: Settings) -> Settings:
    """Lift the soft limit on open files to what `--max-connections` needs, and if the
    hard limit is lower, serve fewer clients at once.

    Past the limit accept() fails and a client would be dropped without a word; below
    it, the client over the limit is accepted and hears 421.
    """
    wanted = settings.max_connections + FILE_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return settings
    allowed = max(1, soft - FILE_RESERVE)
    log.warning(
        "the open-file limit (%d) allows %d connections at once, not %d",
        soft,
        allowed,
        settings.max_connections,
    )
    return replace(settings, max_connections=allowed)


async def serve(
    settings: Settings,
    *,
    on_ready: Callable[[list[str]], None] | None = None,
    announce: bool = True,
) -> None:
    """Run the server until SIGINT or SIGTERM, then stop it gracefully.

    `announce`: log the `listening on` line (a worker leaves it to its parent).
    """
    loop = asyncio.get_running_loop()
    settings = fit_connections_to_file_limit(settings)
    ssl_context = make_ssl_context(settings)
    try:
        store = open_store(settings.store, settings.format, fsync=settings.fsync)
    except StoreError as exc:
        # Wrong format, or a directory that cannot be created or recovered: the store's
        # own message names the store and says why, in one line.
        raise ServerError(str(exc)) from None
    except OSError as exc:
        raise ServerError(
            f"cannot open the store {settings.store}: {exc.strerror or exc}"
        ) from None
    try:
        accounts = load_accounts(settings.auth)
    except AccountError as exc:
        raise ServerError(str(exc)) from None
    deliveries = DeliveryQueue(store, loop)
    context = ServerContext(settings, store, deliveries, ssl_context, accounts)
    servers: list[asyncio.Server] = []
    try:
        servers.append(await _listen(settings, settings.port, lambda: SmtpSession(context)))
        if settings.tls_port is not None:
            # TLS from the first byte: asyncio makes the handshake before the session
            # hears of the connection, so no byte is ever read in clear. SIGHUP loads a
            # new certificate into this same context (see `reload`).
            servers.append(
                await _listen(
                    settings,
                    settings.tls_port,
                    lambda: SmtpSession(context, implicit_tls=True),
                    ssl_context,
                )
            )
    except ServerError:
        for server in servers:
            server.close()
        await deliveries.close()
        raise
    server = servers[0]
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload, context)
    addresses = [_format_address(sock.getsockname()) for sock in server.sockets]
    if announce:
        _announce(context, addresses, servers[1:])
    if on_ready is not None:
        on_ready(addresses)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        log.info("shutting down: %d sessions open", len(context.sessions))
        for listening in servers:
            listening.close()
        await context.shutdown()
        # Deliveries already queued are stored before we exit.
        await deliveries.close()
        close = getattr(store, "close", None)
        if close is not None:
            close()
        log.info("stopped")


def listening_line(settings: Settings, addresses: list[str], *, starttls: bool) -> str:
    """The log line that says where the server listens and what it stores where: one
    process or `--workers` alike (tests and benchmarks read the port in it)."""
    return "listening on {}; store {} ({}{}){}".format(
        ", ".join(addresses),
        settings.store,
        settings.format,
        "" if settings.fsync else ", no fsync",
        ", STARTTLS" if starttls else "",
    )


def _announce(
    context: ServerContext, addresses: list[str], tls_servers: list[asyncio.Server]
) -> None:
    """The log lines that say what the server offers, where (tests read the port here)."""
    settings = context.settings
    log.info("%s", listening_line(settings, addresses, starttls=context.ssl_context is not None))
    for server in tls_servers:
        tls_addresses = [_format_address(sock.getsockname()) for sock in server.sockets]
        log.info("implicit TLS (SMTPS) on %s", ", ".join(tls_addresses))
    if context.accounts is not None:
        log.info(
            "AUTH %s (%s)%s%s",
            " ".join(settings.auth_mechanisms),
            "any login accepted" if context.accounts.accepts_any else settings.auth,
            ", also without TLS" if settings.auth_insecure else ", over TLS only",
            ", required" if settings.auth_required else "",
        )


async def _listen(
    settings: Settings,
    port: int,
    factory: Callable[[], asyncio.Protocol],
    ssl_context: ssl.SSLContext | None = None,
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(
            factory,
            settings.host,
            port,
            reuse_address=True,
            # Workers (`--workers`) each listen on the same port; the kernel spreads clients.
            reuse_port=settings.workers > 1,
            backlog=1024,
            ssl=ssl_context,
            ssl_handshake_timeout=min(settings.timeout, 60.0) if ssl_context else None,
        )
    except OSError as exc:
        hint = " (ports below 1024 need root)" if port < 1024 else ""
        # asyncio's strerror repeats the address ("error while attempting to bind on
        # address (...): address already in use"); the errno's own text says it once.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ServerError(f"cannot listen on {settings.host}:{port}: {reason}{hint}") from None


def reload(context: ServerContext) -> None:
    """SIGHUP: load the certificate and the password file again.

    Sessions under way keep what they started with; each new handshake and each new
    login uses the new ones. A file that cannot be loaded leaves the old one in use.
    """
    settings = context.settings
    if settings.tls_cert is not None and context.ssl_context is not None:
        try:
            # Loaded into a fresh context first: a bad file must not leave the one in
            # use half changed. Then into the live one, which the implicit-TLS
            # listener holds; sessions under way keep their own copy (OpenSSL).
            make_ssl_context(settings)
            context.ssl_context.load_cert_chain(settings.tls_cert, settings.tls_key)
        except (ServerError, OSError, ssl.SSLError) as exc:
            log.error("SIGHUP: %s; keeping the certificate in use", exc)
        else:
            log.info("SIGHUP: certificate %s loaded", settings.tls_cert)
    if settings.auth not in ("none", "any"):
        try:
            context.accounts = load_accounts(settings.auth)
        except AccountError as exc:
            log.error("SIGHUP: %s; keeping the accounts in use", exc)
        else:
            log.info("SIGHUP: password file %s loaded", settings.auth)


def run(settings: Settings) -> None:
    """Run the server: in this process, or in `settings.workers` processes."""
    if settings.workers > 1:
        from postier.server.workers import run_workers

        run_workers(settings)
    else:
        run_loop(serve(settings))


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _format_address(sockname: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
