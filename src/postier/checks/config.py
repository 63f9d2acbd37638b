"""What the message checks may do, from `postier serve`'s options (pure data: importing it
does not import aiohttp)."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Final

DEFAULT_SPAMD_TIMEOUT: Final = 10.0


@dataclass(frozen=True, slots=True)
class SpamdAddress:
    """Where the SpamAssassin daemon listens, and how long it may take to answer."""

    host: str
    port: int
    timeout: float = DEFAULT_SPAMD_TIMEOUT


def spamd_address(text: str, timeout: float = DEFAULT_SPAMD_TIMEOUT) -> SpamdAddress:
    """`HOST:PORT` (`[v6]:PORT`); raises ValueError."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--spamd wants HOST:PORT, not {text!r}")
    return SpamdAddress(host.strip("[]"), int(port), timeout)


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """What the link check may do (`--link-check*`)."""

    enabled: bool = False
    """Test the links at all; otherwise they are only listed."""
    allow_private: bool = False
    """Reach private and loopback addresses too (`--link-check-private`)."""
    allow: tuple[IPv4Network | IPv6Network, ...] = ()
    """Private networks reachable even without `allow_private` (the others stay refused)."""
    max_links: int = 100
    """Links tested per message; the rest are listed untested."""
    timeout: float = 5.0
    """Seconds a link's test takes at most, redirects included."""
    concurrency: int = 5


@dataclass(frozen=True, slots=True)
class ChecksConfig:
    spamd: SpamdAddress | None = None
    """The SpamAssassin daemon of the spam check (`--spamd`); None: the check is off."""
    links: LinkPolicy = field(default_factory=LinkPolicy)
