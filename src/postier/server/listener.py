"""The listener: opens the port, starts a session per client, and stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from postier.server.context import ServerContext
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


async def serve(settings: Settings, *, on_ready: Callable[[list[str]], None] | None = None) -> None:
    """Run the server until SIGINT or SIGTERM, then stop it gracefully."""
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
    executor = ThreadPoolExecutor(settings.delivery_threads, thread_name_prefix="postier-store")
    context = ServerContext(settings, store, executor, ssl_context)
    try:
        server = await loop.create_server(
            lambda: SmtpSession(context),
            settings.host,
            settings.port,
            reuse_address=True,
            backlog=1024,
        )
    except OSError as exc:
        executor.shutdown()
        hint = " (ports below 1024 need root)" if settings.port < 1024 else ""
        # asyncio's strerror repeats the address ("error while attempting to bind on
        # address (...): address already in use"); the errno's own text says it once.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ServerError(
            f"cannot listen on {settings.host}:{settings.port}: {reason}{hint}"
        ) from None
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    addresses = [_format_address(sock.getsockname()) for sock in server.sockets]
    log.info(
        "listening on %s; store %s (%s%s)%s",
        ", ".join(addresses),
        settings.store,
        settings.format,
        "" if settings.fsync else ", no fsync",
        ", STARTTLS" if ssl_context else "",
    )
    if on_ready is not None:
        on_ready(addresses)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        log.info("shutting down: %d sessions open", len(context.sessions))
        server.close()
        await context.shutdown()
        # Deliveries already handed to the threads finish before we exit.
        await loop.run_in_executor(None, executor.shutdown, True)
        close = getattr(store, "close", None)
        if close is not None:
            close()
        log.info("stopped")


def run(settings: Settings) -> None:
    """Run `serve()` on uvloop where it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))


def _format_address(sockname: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
