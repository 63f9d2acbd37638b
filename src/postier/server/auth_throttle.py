"""Slowing password guessing down, per connection and per account.

A failed AUTH is answered late: after `base` seconds the first time, twice as long
each further time, up to `cap`. The count that sets the delay is the larger of the
connection's own failures and the account's recent failures from every connection,
so an attacker gains nothing by spreading guesses over many connections, while
nobody else is slowed: not another account, not another user behind the same NAT
address, and never a correct password. The core closes a connection after its own
`max_auth_failures`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_ACCOUNTS = 10_000
"""Accounts whose failures are remembered; past it, the longest unseen is forgotten."""
MAX_NAME = 256
"""Characters of a user name kept as its key: the memory bound is MAX_ACCOUNTS of these."""


@dataclass(slots=True)
class _Score:
    value: float
    at: float


class AuthThrottle:
    """Recent authentication failures per account, and the delay they call for."""

    def __init__(
        self,
        *,
        base: float,
        cap: float,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.cap = cap
        self.window = window
        """One remembered failure is forgotten per `window / 10` seconds."""
        self._clock = clock
        self._accounts: dict[str, _Score] = {}

    def failed(self, username: str, connection_failures: int) -> float:
        """Record a failure for `username`; the delay, in seconds, before answering it."""
        now = self._clock()
        username = username[:MAX_NAME]
        score = self._accounts.pop(username, None)
        value = 1.0 if score is None else self._decayed(score, now) + 1.0
        if len(self._accounts) >= MAX_ACCOUNTS:
            del self._accounts[next(iter(self._accounts))]
        self._accounts[username] = _Score(value, now)  # most recently seen last
        # Rounded, not truncated: a failure a moment old has barely begun to fade.
        return self.delay(max(connection_failures, int(value + 0.5)))

    def succeeded(self, username: str) -> None:
        """The right password: what came before it was the owner mistyping."""
        self._accounts.pop(username[:MAX_NAME], None)

    def delay(self, failures: int) -> float:
        if failures <= 0 or self.base <= 0:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(failures - 1, 30)))

    def recent_failures(self, username: str) -> float:
        score = self._accounts.get(username[:MAX_NAME])
        return 0.0 if score is None else self._decayed(score, self._clock())

    def _decayed(self, score: _Score, now: float) -> float:
        return max(0.0, score.value - (now - score.at) * 10.0 / self.window)
