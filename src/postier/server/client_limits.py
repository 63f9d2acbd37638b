"""Limits per client address: connections at once, and protocol errors over a window.

`--max-connections` protects the server; these protect the other clients. One address
that opens connections without end, or keeps sending garbage, is refused with 421
while everybody else is still served. Loopback is exempt by default: on a developer's
machine every client is 127.0.0.1, and a test suite that misbehaves on purpose must not
lock itself out.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from postier.settings import Network

MAX_TRACKED = 100_000
"""Addresses whose error scores are remembered; past it, the ones that decayed are dropped."""


def normalize(ip: str) -> str:
    """The client's address as one key: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as IPv4."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class Over(Enum):
    CONNECTIONS = "connections"
    ERRORS = "errors"


@dataclass(frozen=True, slots=True)
class OverLimit:
    """An address over one of its limits, and the words for the log."""

    limit: Over
    reason: str


@dataclass(slots=True)
class _ErrorScore:
    """Errors of one address, leaking away at a steady rate (a leaky bucket)."""

    value: float
    at: float


class ClientLimits:
    """Counts connections and errors per client address; says who is over its limit."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_errors: int,
        error_window: float,
        exempt: Iterable[Network] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_connections = max_connections
        """Connections at once from one address; 0 for no limit."""
        self.max_errors = max_errors
        """Errors from one address within `error_window` seconds; 0 for no limit."""
        self.error_window = error_window
        self._exempt = tuple(exempt)
        self._clock = clock
        self._connections: dict[str, int] = {}
        self._errors: dict[str, _ErrorScore] = {}

    def exempt(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._exempt)

    def refusal(self, ip: str) -> OverLimit | None:
        """Why a new connection from `ip` is refused, or None to admit it."""
        if self.exempt(ip):
            return None
        if self.max_connections and self._connections.get(ip, 0) >= self.max_connections:
            reason = f"too many connections from {ip} (limit {self.max_connections})"
            return OverLimit(Over.CONNECTIONS, reason)
        if self.max_errors and self._error_score(ip) >= self.max_errors:
            reason = (
                f"too many errors from {ip} (limit {self.max_errors} in {self.error_window:g}s)"
            )
            return OverLimit(Over.ERRORS, reason)
        return None

    def opened(self, ip: str) -> None:
        self._connections[ip] = self._connections.get(ip, 0) + 1

    def closed(self, ip: str) -> None:
        count = self._connections.get(ip, 0) - 1
        if count > 0:
            self._connections[ip] = count
        else:
            self._connections.pop(ip, None)

    def record_errors(self, ip: str, count: int) -> None:
        """`count` more protocol errors from `ip` (exempt addresses are not tracked)."""
        if count <= 0 or not self.max_errors or self.exempt(ip):
            return
        now = self._clock()
        score = self._errors.get(ip)
        if score is None:
            if len(self._errors) >= MAX_TRACKED:
                self._forget_decayed(now)
            if len(self._errors) >= MAX_TRACKED:
                del self._errors[next(iter(self._errors))]  # the longest unseen
            self._errors[ip] = _ErrorScore(float(count), now)
        else:
            score.value = self._decayed(score, now) + count
            score.at = now
            self._errors[ip] = self._errors.pop(ip)  # most recently seen last

    def connections(self, ip: str) -> int:
        return self._connections.get(ip, 0)

    def _error_score(self, ip: str) -> float:
        score = self._errors.get(ip)
        return 0.0 if score is None else self._decayed(score, self._clock())

    def _decayed(self, score: _ErrorScore, now: float) -> float:
        # `max_errors` leak away per `error_window`: a steady trickle below the limit
        # never trips it, a burst does, and an address recovers by itself.
        rate = self.max_errors / self.error_window
        return max(0.0, score.value - (now - score.at) * rate)

    def _forget_decayed(self, now: float) -> None:
        for ip in [ip for ip, score in self._errors.items() if self._decayed(score, now) <= 0]:
            del self._errors[ip]
