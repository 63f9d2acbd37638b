"""Where relayed and released mail goes, and which recipients may be passed on.

Nothing leaves unless it is asked for twice: an upstream (`--relay`) and recipients
that match `--relay-match` (relay) or a release that names them (`--release-allow`
limits those). A relay without `--relay-match` passes nothing on, so postier is never an
open relay by accident.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from postier.client import Client, Security, client_context

UPSTREAM_PORT: Final = 25
"""The port of an upstream named without one: SMTP's own (465 with `--relay-tls`)."""
DEFAULT_MAX_AGE: Final = 5 * 24 * 3600.0
"""How long a message is retried before it is given up (Postfix's `maximal_queue_lifetime`)."""
DEFAULT_RETRY: Final = 60.0
"""The delay before the first retry; each further one waits twice as long, up to `MAX_RETRY`."""
MAX_RETRY: Final = 3600.0
UPSTREAM_TIMEOUT: Final = 60.0
"""Seconds each step with the upstream may take (connect, each reply, each write)."""


class RelayConfigError(ValueError):
    """A relay setting that cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """The SMTP server that relayed and released mail is handed to."""

    host: str
    port: int = UPSTREAM_PORT
    security: Security = Security.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    """Trust this authority for the upstream's certificate instead of the system's."""
    timeout: float = UPSTREAM_TIMEOUT

    def client(self, local_hostname: str | None = None) -> Client:
        """A new connection's client (not connected yet)."""
        context: ssl.SSLContext | None = None
        if self.security is not Security.NONE:
            context = client_context(self.cafile)
        return Client(
            self.host,
            self.port,
            security=self.security,
            ssl_context=context,
            timeout=self.timeout,
            local_hostname=local_hostname,
        )

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        how = {Security.STARTTLS: " with STARTTLS", Security.TLS: " over TLS"}
        user = f" as {self.username}" if self.username else ""
        return f"{host}:{self.port}{how.get(self.security, '')}{user}"


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """What `--relay*` and `--release-allow` say."""

    upstream: Upstream | None = None
    match: tuple[re.Pattern[str], ...] = ()
    """Recipients relayed: those matching one of these in full, in lower case."""
    exclude: tuple[re.Pattern[str], ...] = ()
    """Never relayed, even when a `match` matches."""
    sender: str | None = None
    """`--relay-from`: the envelope sender upstream; None: the message's own."""
    max_age: float = DEFAULT_MAX_AGE
    retry: float = DEFAULT_RETRY
    release_allow: tuple[re.Pattern[str], ...] = ()
    """Recipients a release may name; none given: any."""

    @property
    def relays(self) -> bool:
        """Whether any accepted message may be passed on automatically."""
        return self.upstream is not None and bool(self.match)

    def selected(self, recipients: Sequence[str]) -> tuple[str, ...]:
        """The recipients of an accepted message that are passed on, in order, once each."""
        if not self.relays:
            return ()
        return tuple(dict.fromkeys(r for r in recipients if _selects(self, r.lower())))

    def release_refused(self, recipients: Sequence[str]) -> list[str]:
        """The recipients a release may not name (`--release-allow`)."""
        if not self.release_allow:
            return []
        return [
            r for r in recipients if not any(p.fullmatch(r.lower()) for p in self.release_allow)
        ]

    def retry_delay(self, attempts: int) -> float:
        """How long to wait after the `attempts`-th failed try (RFC 5321 §4.5.4.1: the
        delay grows; Postfix doubles it from its minimum up to its maximum)."""
        doubled = self.retry * 2.0 ** min(max(attempts - 1, 0), 32)
        return min(doubled, max(MAX_RETRY, self.retry))


def _selects(config: RelayConfig, address: str) -> bool:
    if not any(p.fullmatch(address) for p in config.match):
        return False
    return not any(p.fullmatch(address) for p in config.exclude)


def parse_upstream(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]` or `[v6]:port`; the port None when not given."""
    host, colon, port = text.strip(), "", ""
    if host.startswith("["):
        inner, closed, rest = host[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise RelayConfigError(f"not HOST[:PORT]: {text!r}")
        host, colon, port = inner, rest[:1], rest[1:]
    elif host.count(":") == 1:
        host, colon, port = host.partition(":")
    if not host or any(c.isspace() for c in host):
        raise RelayConfigError(f"not HOST[:PORT]: {text!r}")
    if not colon:
        return host, None
    # ASCII digits only: str.isdigit() also takes "²", which int() does not.
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) <= 65535:
        raise RelayConfigError(f"not a port number in {text!r}")
    return host, int(port)


def parse_credentials(text: str) -> tuple[str, str]:
    """`USER:PASSWORD` (the password may hold colons; the user may not)."""
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise RelayConfigError("relay credentials are USER:PASSWORD")
    return user, password


def read_credentials(path: Path) -> tuple[str, str]:
    """The first line of `path` that is not blank or a `#` comment, as `USER:PASSWORD`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RelayConfigError(f"cannot read {path}: {getattr(exc, 'strerror', exc)}") from None
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            return parse_credentials(line)
    raise RelayConfigError(f"{path} holds no USER:PASSWORD line")


def upstream_of(
    address: str,
    *,
    starttls: bool = False,
    tls: bool = False,
    auth: str | None = None,
    auth_file: Path | None = None,
    cafile: Path | None = None,
) -> Upstream:
    """The upstream the `--relay*` options name; raises RelayConfigError."""
    if starttls and tls:
        raise RelayConfigError("--relay-starttls and --relay-tls do not go together")
    if auth is not None and auth_file is not None:
        raise RelayConfigError("--relay-auth and --relay-auth-file do not go together")
    host, port = parse_upstream(address)
    security = Security.TLS if tls else Security.STARTTLS if starttls else Security.NONE
    if port is None:
        port = 465 if tls else UPSTREAM_PORT
    username = password = None
    if auth is not None:
        username, password = parse_credentials(auth)
    elif auth_file is not None:
        username, password = read_credentials(auth_file)
    return Upstream(host, port, security, username, password, cafile)


def relay_config(
    relay: str | None,
    *,
    starttls: bool = False,
    tls: bool = False,
    auth: str | None = None,
    auth_file: Path | None = None,
    cafile: Path | None = None,
    match: tuple[re.Pattern[str], ...] = (),
    exclude: tuple[re.Pattern[str], ...] = (),
    sender: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    retry: float = DEFAULT_RETRY,
    release_allow: tuple[re.Pattern[str], ...] = (),
) -> RelayConfig:
    """The `RelayConfig` the options give; raises RelayConfigError for options that
    do not go together (an upstream's options without `--relay`)."""
    if relay is None:
        named = {
            "--relay-starttls": starttls,
            "--relay-tls": tls,
            "--relay-auth": auth,
            "--relay-auth-file": auth_file,
            "--relay-ca": cafile,
            "--relay-match": match,
            "--relay-exclude": exclude,
            "--relay-from": sender,
            "--release-allow": release_allow,
        }
        given = [name for name, value in named.items() if value]
        if given:
            raise RelayConfigError(f"{given[0]} needs --relay HOST[:PORT]")
        return RelayConfig()
    if sender:
        from postier.protocol.smtp import AddressError, validate_mailbox

        try:
            validate_mailbox(sender)
        except AddressError as exc:
            raise RelayConfigError(f"--relay-from: not an address: {sender!r} ({exc})") from None
    upstream = upstream_of(
        relay, starttls=starttls, tls=tls, auth=auth, auth_file=auth_file, cafile=cafile
    )
    return RelayConfig(upstream, match, exclude, sender or None, max_age, retry, release_allow)
