"""All of the server's settings and limits in one object, filled by the CLI.

Each is described once, here: its name (the CLI's option is `--` and the name), its
default, what it means; a setting the protocol core enforces is marked with the name of
its `ServerConfig` field, takes its default from there, and reaches it through
`protocol_config` without being copied by hand.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from postier.chaos import ChaosConfig
from postier.defaults import DEFAULT_HTTP_PORT, DEFAULT_PORT
from postier.protocol.pop3 import Pop3Config
from postier.protocol.smtp import LOGIN, MECHANISMS, PLAIN, ServerConfig
from postier.relay import DEFAULT_MAX_AGE, DEFAULT_RETRY, RelayConfig, relay_config

StoreFormat = Literal["mbox", "maildir"]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_EXEMPT = "127.0.0.0/8, ::1"
"""Loopback: on a developer's machine every client is local, and must not lock itself out."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8, ::1"` → networks; `""` or `"none"` → none. Raises ValueError."""
    if text.strip().lower() in {"", "none"}:
        return ()
    networks: list[Network] = []
    for item in text.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {item.strip()!r}") from None
    return tuple(networks)


PROTOCOL: Final = "protocol"
"""The key, in a setting's field metadata, of the `ServerConfig` field it fills."""
_CORE_DEFAULTS: Final = {f.name: f.default for f in dataclasses.fields(ServerConfig)}


def core(name: str) -> Any:
    """A setting the protocol core enforces as its `ServerConfig` field `name`, with the
    core's default."""
    return field(default=_CORE_DEFAULTS[name], metadata={PROTOCOL: name})


@dataclass(frozen=True, slots=True)
class Settings:
    """What `postier serve` runs with. Every limit the server enforces lives here."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    store: Path = Path("mail")
    format: StoreFormat = "mbox"
    hostname: str = field(default_factory=socket.gethostname, metadata={PROTOCOL: "hostname"})
    """The name the server gives itself in its greeting and in Received:."""
    max_size: int = core("max_message_size")
    max_recipients: int = core("max_recipients")
    timeout: float = 300.0
    """Deadline, in seconds, for each whole line the client sends."""
    max_connections: int = 1000
    max_errors: int = core("max_errors")
    max_client_connections: int = 100
    """Connections at once from one client address (0: no limit)."""
    max_client_errors: int = 100
    """Protocol errors from one client address within `client_error_window` (0: no limit)."""
    client_error_window: float = 600.0
    client_limit_exempt: tuple[Network, ...] = parse_networks(DEFAULT_EXEMPT)
    """Addresses the two per-client limits do not apply to (loopback by default)."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int | None = None
    """A second port where TLS starts at connect (RFC 8314 implicit TLS, SMTPS)."""
    auth: str = "none"
    """AUTH: "none" (not offered), "any" (every login accepted) or a password file."""
    auth_insecure: bool = core("auth_insecure")
    """Offer AUTH without TLS too."""
    auth_required: bool = core("auth_required")
    """MAIL needs a successful AUTH first."""
    auth_failure_delay: float = 1.0
    """A failed AUTH is answered this late, each further failure twice as late (to 16x)."""
    fsync: bool = True
    index: bool = True
    """Keep the store's index (`<store>/.postier/index.sqlite3`) up to date as mail is
    delivered, so that readers find new mail there at once."""
    shutdown_grace: float = 30.0
    """On SIGTERM/Ctrl-C, how long a message being received may take to finish."""
    spool_memory: int = 1024 * 1024
    """A message stays in memory up to this size, then moves to a temporary file."""
    workers: int = 1
    """Server processes sharing the port (SO_REUSEPORT) and the store; each serves up to
    `max_connections / workers` clients."""
    explain: bool = False
    """Tell every step of each session on standard output (`postier.explain`)."""
    lang: str | None = None
    """The language of `explain`, "fr" or "en"; None: the environment's locale."""
    sessions_kept: int = 200
    """Recent SMTP sessions kept in memory, dialogue included, for the page's sessions
    view and `/api/v1/sessions` (0: none kept, nothing recorded)."""
    http: bool = True
    """Serve the HTTP API too, on the same event loop (the first worker's, with `workers`)."""
    http_host: str | None = None
    """Where the HTTP API listens; None: where SMTP does (`host`)."""
    http_port: int | None = None
    """The HTTP API's port (0: a free one); None: `DEFAULT_HTTP_PORT`, and when that one
    is taken the server goes on without the API (a port named is an error when taken)."""
    pop3_port: int | None = None
    """Serve POP3 there too (0: a free one), with STLS when there is a certificate; None:
    no POP3 (the first worker's, with `workers`)."""
    pop3s_port: int | None = None
    """Serve POP3 with TLS from the first byte there (RFC 8314, POP3S)."""

    @property
    def pop3(self) -> bool:
        return self.pop3_port is not None or self.pop3s_port is not None

    http_auth: Path | None = None
    """A `user:hash` password file (as `auth`'s): its users alone may use the HTTP
    server (basic authentication); None: anybody who can reach it."""
    http_tls: bool = False
    """Serve HTTPS, with `tls_cert`."""
    http_allow_host: tuple[str, ...] = ()
    """Names the HTTP server answers to when bound to loopback, besides loopback's own
    (requests naming another host are refused, against DNS rebinding)."""
    metrics: bool = False
    """Serve `GET /metrics` (Prometheus's text format) on the HTTP server."""
    metrics_dir: Path | None = None
    """With `workers`: the directory where each worker writes its figures, which a scrape
    adds up (made and removed by the parent; None in a single process)."""

    accept: tuple[re.Pattern[str], ...] = ()
    """Only recipients matching one of these (in full, in lower case) are accepted; the
    others hear 550 5.1.1. None given: every recipient is."""
    reject: tuple[re.Pattern[str], ...] = ()
    """Recipients matching one of these hear 550 5.1.1, even when an `accept` matches."""
    chaos: ChaosConfig = field(default_factory=ChaosConfig)
    """Failures on purpose (`--chaos`); changeable while the server runs (the HTTP API)."""
    chaos_seed: int | None = None
    """Seeds chaos's dice, so that a test run is repeatable; None: a new seed each run."""

    tags_from_plus: bool = False
    """A copy is tagged with the +TAG of its recipient's address (`store.tagging`)."""

    relay: str | None = None
    """The upstream SMTP server (`HOST[:PORT]`) that relayed and released mail goes to."""
    relay_starttls: bool = False
    relay_tls: bool = False
    relay_auth: str | None = field(default=None, repr=False)
    """`USER:PASSWORD` for the upstream's AUTH."""
    relay_auth_file: Path | None = None
    relay_ca: Path | None = None
    """Trust this authority for the upstream's certificate instead of the system's."""
    relay_match: tuple[re.Pattern[str], ...] = ()
    """Recipients whose copy is relayed (in full, in lower case); none: nothing is."""
    relay_exclude: tuple[re.Pattern[str], ...] = ()
    relay_from: str | None = None
    """The envelope sender upstream, instead of the message's own."""
    relay_max_age: float = DEFAULT_MAX_AGE
    """How long a relayed message is retried before it is given up."""
    relay_retry: float = DEFAULT_RETRY
    """The first retry's delay; each further one twice as long, up to an hour."""
    release_allow: tuple[re.Pattern[str], ...] = ()
    """Recipients a release may name; none given: any."""
    relay_delivers: bool = True
    """This process sends the outbound queue (with `workers`, the first one alone)."""

    webhook: tuple[str, ...] = ()
    """URLs (http, https) each new message is POSTed to as its summary, off the path to
    the 250 (`server.webhooks`); given at start only, never taken from a message."""
    webhook_limit: int = 5
    """Webhook requests in flight at once, across every URL."""
    webhook_timeout: float = 10.0
    """Seconds one webhook request may take before it counts as failed (and is retried)."""
    spamd: str | None = None
    """The SpamAssassin daemon (`HOST:PORT`) of the spam check; None: the check is off."""
    spamd_timeout: float = 10.0
    """Seconds the spam check waits for the daemon."""
    link_check: bool = False
    """The link check tests links with HEAD requests (otherwise it only lists them)."""
    link_check_private: bool = False
    """The link check may reach private and loopback addresses."""
    link_check_timeout: float = 5.0
    """Seconds the link check gives each link, redirects included."""

    def relay_config(self) -> RelayConfig:
        """Where relayed and released mail goes; raises RelayConfigError (a ValueError)."""
        return relay_config(
            self.relay, starttls=self.relay_starttls, tls=self.relay_tls,
            auth=self.relay_auth, auth_file=self.relay_auth_file, cafile=self.relay_ca,
            match=self.relay_match, exclude=self.relay_exclude, sender=self.relay_from,
            max_age=self.relay_max_age, retry=self.relay_retry,
            release_allow=self.release_allow,
        )  # fmt: skip

    @property
    def http_address(self) -> tuple[str, int]:
        """Where the HTTP API listens: `http_host` (else `host`) and `http_port`."""
        port = DEFAULT_HTTP_PORT if self.http_port is None else self.http_port
        return self.http_host or self.host, port

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """What AUTH offers: CRAM-MD5 needs the clear password, so only with "any"."""
        if self.auth == "none":
            return ()
        if self.auth == "any":
            return MECHANISMS
        return (PLAIN, LOGIN)

    def pop3_config(self) -> Pop3Config:
        """What one POP3 connection's core offers: APOP and CRAM-MD5 need the clear
        password, so only with "any"."""
        return Pop3Config(
            hostname=self.hostname,
            tls_available=self.tls_enabled,
            auth_insecure=self.auth_insecure,
            mechanisms=self.auth_mechanisms,
            apop=self.auth == "any",
            max_errors=self.max_errors,
        )

    def protocol_config(self) -> ServerConfig:
        """What one connection's core offers and enforces: the settings marked for it,
        and what follows from the others (a certificate, the AUTH mechanisms)."""
        marked = {
            item.metadata[PROTOCOL]: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if PROTOCOL in item.metadata
        }
        return ServerConfig(
            **marked, tls_available=self.tls_enabled, auth_mechanisms=self.auth_mechanisms
        )
