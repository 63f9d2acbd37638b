"""The HTTP listener: the API of `postier.web` on the running event loop, as a `Service`
beside SMTP (or alone: `run.serve_web`), through aiohttp's `AppRunner` and `TCPSite`
(never a loop of its own: no `run_app`).

`postier.web` (and aiohttp with it) is imported only when the API is served.
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from postier.chaos import Chaos
from postier.relay import RelayConfig
from postier.server.binding import cannot_listen, format_address
from postier.server.errors import ServerError
from postier.server.http_auth import HttpGate
from postier.server.service import Service
from postier.stats import SmtpCounts
from postier.store.read import Reader

if TYPE_CHECKING:
    from aiohttp import web

    from postier.checks import ChecksConfig
    from postier.explain import SessionRecords
    from postier.metrics import Metrics
    from postier.web import Mail

log = logging.getLogger("postier.web")

SHUTDOWN_GRACE: Final = 5.0
"""Seconds a request under way (a `/wait`, a large `/raw`) may take to finish at a stop."""


class PortTakenError(ServerError):
    """The port is another program's (another postier's, say)."""


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """How the HTTP server guards itself."""

    auth: Path | None = None
    """`--http-auth`: the password file whose users alone may use it."""
    failure_delay: float = 1.0
    """A wrong password is answered this late, each further one twice as late (to 16x)."""
    tls: ssl.SSLContext | None = None
    """`--http-tls`: HTTPS with this context (SMTP's, reloaded with it on SIGHUP)."""
    allow_hosts: tuple[str, ...] = ()
    """`--http-allow-host`: names a loopback server answers to besides loopback's."""
    checks: ChecksConfig | None = None
    """What the message checks may do (`--spamd`, `--link-check*`); None: the defaults
    (no spam check, links listed but not tested)."""


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
        options: HttpOptions | None = None,
        relay: RelayConfig | None = None,
        hostname: str | None = None,
        submit: Callable[[], tuple[str, int] | None] | None = None,
        metrics: Metrics | None = None,
        look: Callable[[], object] | None = None,
    ) -> None:
        self.reader = reader
        self.look = look
        """What the live events' look at the files calls (None: the reader's sync)."""
        self.metrics = metrics
        """`--metrics`: served on `GET /metrics`; None: that path is not found."""
        self.host = host
        self.port = port
        self.store = store
        self.smtp = smtp
        self.chaos = chaos
        """The SMTP listener's own, shared (`GET/PUT /api/v1/chaos`); None: no SMTP here."""
        self.optional = optional
        self.log_at_start = log_at_start
        self.sessions = sessions
        self.relay = relay
        """Where `POST /api/v1/message/{ID}/release` sends (None: it is refused)."""
        self.hostname = hostname
        self.submit = submit
        """Where `POST /api/v1/send` submits: the SMTP listener's address (None: none)."""
        self.options = options or HttpOptions()
        self.addresses: list[str] = []
        self._gate: HttpGate | None = None
        self._runner: web.AppRunner | None = None
        self._mail: Mail | None = None

    async def start(self) -> list[str]:
        from aiohttp import web

        from postier.checks import ChecksConfig
        from postier.web import HostRule, Mail, WebContext, build_app

        options = self.options
        gate = None
        if options.auth is not None:
            gate = HttpGate(options.auth, failure_delay=options.failure_delay)
        mail = Mail(self.reader, look=self.look)
        state = WebContext(
            mail,
            self.smtp,
            gate=gate,
            hosts=HostRule.for_server(self.host, options.allow_hosts),
            sessions=self.sessions,
            chaos=self.chaos,
            relay=self.relay,
            hostname=self.hostname,
            submit=self.submit,
            metrics=self.metrics,
            checks=options.checks or ChecksConfig(),
        )
        runner = web.AppRunner(
            build_app(state), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE
        )
        await runner.setup()
        try:
            await web.TCPSite(
                runner, self.host, self.port, reuse_address=True, ssl_context=options.tls
            ).start()
        except OSError as error:
            await runner.cleanup()
            mail.close()
            if gate is not None:
                gate.close()
            return self._unbound(error)
        self._runner, self._mail, self._gate = runner, mail, gate
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
        scheme = "http" if self.options.tls is None else "https"
        return f"{scheme}://{self.addresses[0]}/" if self.addresses else ""

    def announce(self) -> None:
        """The line that says where the API is (tests read the port there)."""
        if self._runner is None:
            return
        guarded = "" if self._gate is None else f"; login required ({self.options.auth})"
        log.info("HTTP API on %s; store %s%s", self.url(), self.store, guarded)
        if self._gate is not None and self.options.tls is None and not _local(self.host):
            log.warning(
                "--http-auth without --http-tls on %s: passwords cross the network in clear",
                self.host,
            )

    def reload(self) -> None:
        if self._gate is not None:
            self._gate.reload()

    async def stop(self) -> None:
        runner, mail, gate = self._runner, self._mail, self._gate
        self._runner = self._mail = self._gate = None
        if runner is not None:
            await runner.cleanup()
        if mail is not None:
            mail.close()
        if gate is not None:
            gate.close()


def _local(host: str) -> bool:
    from postier.web import HostRule

    return HostRule.for_server(host) is not None  # a rule for loopback only
