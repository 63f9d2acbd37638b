"""The POP3 listener: `--pop3-port` (STLS when there is a certificate) and `--pop3s-port`
(TLS from the first byte, RFC 8314), a session for each client, on the server's loop.

It reads the store through the process's `Reader` (the one the HTTP API reads). With
`--workers`, the first worker alone serves POP3, so the roll of held mailboxes (one
session per mailbox) is that one process's.
"""

from __future__ import annotations

import asyncio
import logging

from postier.server.binding import Endpoint, addresses, listen
from postier.server.errors import ServerError
from postier.server.pop3_context import Pop3Context
from postier.server.pop3_session import Pop3Session
from postier.server.resources import Shared
from postier.server.service import Service
from postier.settings import Settings

log = logging.getLogger("postier.pop3")


class Pop3Listener(Service):
    """POP3 and POP3S on the ports the settings name (either may be None)."""

    def __init__(self, settings: Settings, shared: Shared, *, log_at_start: bool = False) -> None:
        self._settings = settings
        self._shared = shared
        self._log_at_start = log_at_start
        self._plain: asyncio.Server | None = None
        self._implicit: asyncio.Server | None = None
        self._context: Pop3Context | None = None

    async def start(self) -> list[str]:
        settings, shared = self._settings, self._shared
        if shared.reader is None or shared.logins is None:
            raise ServerError("POP3 needs the store's read side and the logins")
        context = Pop3Context(settings, shared.reader, shared.logins, shared.tls)
        try:
            if settings.pop3_port is not None:
                self._plain = await listen(
                    self._endpoint(settings.pop3_port), lambda: Pop3Session(context)
                )
            if settings.pop3s_port is not None:
                self._implicit = await listen(
                    self._endpoint(settings.pop3s_port),
                    lambda: Pop3Session(context, implicit_tls=True),
                    shared.tls,
                )
        except ServerError:
            self._close_servers()
            raise
        self._context = context
        if self._log_at_start:
            self.announce()
        servers = [s for s in (self._plain, self._implicit) if s is not None]
        return addresses(servers[0])

    def _endpoint(self, port: int) -> Endpoint:
        settings = self._settings
        return Endpoint(settings.host, port, False, settings.timeout)

    def announce(self) -> None:
        """The log lines that say where POP3 listens (tests read the ports here)."""
        context = self._context
        if context is None:
            return
        if self._plain is not None:
            stls = ", STLS" if context.ssl_context is not None else ""
            log.info("POP3 on %s%s", ", ".join(addresses(self._plain)), stls)
        if self._implicit is not None:
            log.info("POP3S on %s", ", ".join(addresses(self._implicit)))

    async def stop(self) -> None:
        self._close_servers()
        if self._context is not None:
            await self._context.shutdown()

    def _close_servers(self) -> None:
        for server in (self._plain, self._implicit):
            if server is not None:
                server.close()
