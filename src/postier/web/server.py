"""Serving the HTTP API on the running event loop (beside SMTP, or alone for `postier
web`): an aiohttp `AppRunner` and its `TCPSite`, never a loop of its own."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

from aiohttp import web

from postier.server.binding import cannot_listen, format_address
from postier.server.counts import SmtpCounts
from postier.server.errors import ServerError
from postier.store.read import Reader

from .app import build_app
from .context import WebContext
from .mail import Mail

log = logging.getLogger("postier.web")

SHUTDOWN_GRACE = 5.0
"""Seconds a request under way (a `/wait`, a large `/raw`) may take to finish at a stop."""


class PortTakenError(ServerError):
    """The port is another program's (another postier's, say)."""


class HttpServer:
    """The API on `host:port` (0: a free port), reading the store through `reader`."""

    def __init__(
        self,
        reader: Reader,
        host: str,
        port: int,
        *,
        smtp: Callable[[], SmtpCounts] = SmtpCounts,
    ) -> None:
        self.host = host
        self.port = port
        self.mail = Mail(reader)
        self._runner = web.AppRunner(
            build_app(WebContext(self.mail, smtp)),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE,
        )
        self.addresses: list[str] = []

    async def start(self) -> list[str]:
        """Bind and serve; where it listens. Raises ServerError when it cannot bind."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self.mail.close()
            failure = cannot_listen(self.host, self.port, error)
            if error.errno == errno.EADDRINUSE:
                raise PortTakenError(str(failure)) from None
            raise failure from None
        self.addresses = [format_address(address) for address in self._runner.addresses]
        return self.addresses

    def url(self) -> str:
        where = self.addresses[0] if self.addresses else f"{self.host}:{self.port}"
        return f"http://{where}/"

    async def stop(self) -> None:
        await self._runner.cleanup()
        self.mail.close()
