"""Which `Host` names a server answers to, against DNS rebinding: one bound to loopback
answers only requests whose `Host` is a loopback name or address, the address it is
bound to, or a name allowed by `--http-allow-host` (`guards.allowed_host` refuses the
others).

A page on another site can make the browser send it requests on this machine's
loopback by pointing its own name at 127.0.0.1 (DNS rebinding); those requests then
carry that site's name in `Host`, and are refused with a 403 before anything is read.
A server bound to another address was opened to the network by its user, who knows
its names better than it does: it checks nothing. A request without `Host` (HTTP/1.0)
comes from no browser, and is let through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


def host_name(header: str) -> str:
    """The name or address of a `Host` value, without its port, in lower case:
    `[::1]:8025` → `::1`, `Localhost.:80` → `localhost`."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        text = text.partition(":")[0]
    return text.rstrip(".")


def is_loopback(name: str) -> bool:
    """localhost, a name under .localhost (RFC 6761), 127.0.0.0/8 or ::1."""
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class HostRule:
    """The names a loopback server answers to besides loopback's own."""

    allowed: frozenset[str]

    @classmethod
    def for_server(cls, bound: str, allowed: Iterable[str] = ()) -> HostRule | None:
        """The rule of a server bound to `bound`; None (no check) off loopback."""
        if not is_loopback(host_name(bound)):
            return None
        return cls(frozenset(host_name(name) for name in (bound, *allowed)))

    def permits(self, header: str) -> bool:
        name = host_name(header)
        return name in self.allowed or is_loopback(name)
