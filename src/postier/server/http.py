"""The HTTP listener: the API of `postier.web` on the running event loop, as a `Service`
beside SMTP (or alone: `run.serve_web`), through aiohttp's `AppRunner` and `TCPSite`
(never a loop of its own: no `run_app`).

`postier.web` (and aiohttp with it) is imported only when the API is served.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from postier.chaos import Chaos
from postier.server.binding import cannot_listen, format_address
from postier.server.errors import ServerError
from postier.server.service import Service
from postier.stats import SmtpCounts
from postier.store.read import Reader

if TYPE_CHECKING:
    from aiohttp import web

    from postier.explain.recorder import SessionRecords
    from postier.web import Mail

log = logging.getLogger("postier.web")

SHUTDOWN_GRACE: Final = 5.0
"""Seconds a request under way (a `/wait`, a large `/raw`) may take to finish at a stop."""


class PortTakenError(ServerError):
    """The port is another program's (another postier's, say)."""


class HttpListener(Service):
    """The API on `host:port` (0: a free port), reading the store through `reader`,
    which the caller closes.

    `optional`: the port was not named (the default one); when another program has it,
    the server goes on without the API and says so in one line. `log_at_start`: log the
    API's address as soon as it listens (a `--workers` worker, whose parent announces
    only SMTP, does that for the API it alone serves).
    """

    def __init__(
        self,
        reader: Reader,
        host: str,
        port: int,
        *,
        store: Path,
        smtp: Callable[[], SmtpCounts] = SmtpCounts,
        chaos: Chaos | None = None,
        optional: bool = False,
        log_at_start: bool = False,
        sessions: SessionRecords | None = None,
    ) -> None:
        self.reader = reader
        self.host = host
        self.port = port
        self.store = store
        self.smtp = smtp
        self.chaos = chaos
        """The SMTP listener's own, shared (`GET/PUT /api/v1/chaos`); None: no SMTP here."""
        self.optional = optional
        self.log_at_start = log_at_start
        self.sessions = sessions
        self.addresses: list[str] = []
        self._runner: web.AppRunner | None = None
        self._mail: Mail | None = None

    async def start(self) -> list[str]:
        from aiohttp import web

        from postier.web import Mail, WebContext, build_app

        mail = Mail(self.reader)
        runner = web.AppRunner(
            build_app(WebContext(mail, self.smtp, sessions=self.sessions, chaos=self.chaos)),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, reuse_address=True).start()
        except OSError as error:
            await runner.cleanup()
            mail.close()
            return self._unbound(error)
        self._runner, self._mail = runner, mail
        self.addresses = [format_address(address) for address in runner.addresses]
        if self.log_at_start:
            self.announce()
        return self.addresses

    def _unbound(self, error: OSError) -> list[str]:
        failure = cannot_listen(self.host, self.port, error)
        if not (self.optional and error.errno == errno.EADDRINUSE):
            raise failure from None
        log.warning(
            "HTTP API not served: %s; give --http-port PORT (0: any free port) or --no-http",
            failure,
        )
        return []

    def url(self) -> str:
        return f"http://{self.addresses[0]}/" if self.addresses else ""

    def announce(self) -> None:
        """The line that says where the API is (tests read the port there)."""
        if self._runner is not None:
            log.info("HTTP API on %s; store %s", self.url(), self.store)

    async def stop(self) -> None:
        runner, mail = self._runner, self._mail
        self._runner = self._mail = None
        if runner is not None:
            await runner.cleanup()
        if mail is not None:
            mail.close()
