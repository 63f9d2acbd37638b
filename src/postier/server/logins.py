"""Checking a login, for every listener of a process (SMTP's AUTH, POP3's logins).

One per process (`Shared`): the password file, the throttle that slows failures per
connection and per account, whichever protocol they come by (so alternating SMTP and
POP3 gains a guesser nothing), and the two threads that hash passwords.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from postier.protocol.smtp import Credentials
from postier.server.accounts import Accounts
from postier.server.auth_throttle import AuthThrottle


class Logins:
    """Who may log in, and how late a failure is answered."""

    def __init__(self, accounts: Accounts | None, failure_delay: float) -> None:
        self.accounts = accounts
        """Replaced on SIGHUP when it is a password file (`Shared.reload`)."""
        self.throttle = AuthThrottle(base=failure_delay, cap=16 * failure_delay)
        # scrypt takes ~32 MiB and ~0.1 s per check: two at a time bounds both.
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="postier-auth")

    async def check(
        self,
        credentials: Credentials,
        failures: int,
        peer: str,
        *,
        log: logging.Logger,
        label: str = "",
    ) -> bool:
        """Check a login on a thread (a password hash is slow on purpose), and answer a
        failure late: the delay grows with the connection's `failures` so far and the
        account's (see `AuthThrottle`). `label` names the protocol in the log."""
        user = credentials.username
        loop = asyncio.get_running_loop()
        try:
            accepted = await loop.run_in_executor(self._threads, self._verify, credentials)
        except Exception:
            log.exception("%s: checking the credentials of %r failed", peer, user)
            accepted = False
        if accepted:
            self.throttle.succeeded(user)
            log.info("%s %sauthenticated as %r (%s)", peer, label, user, credentials.mechanism)
            return True
        delay = self.throttle.failed(user, failures + 1)
        log.warning(
            "%s: %sauthentication failed for %r (%s), %d on this connection",
            peer, label, user, credentials.mechanism, failures + 1,
        )  # fmt: skip
        await asyncio.sleep(delay)
        return False

    def _verify(self, credentials: Credentials) -> bool:
        accounts = self.accounts
        if accounts is None:
            return False
        if credentials.password is None:
            # CRAM-MD5 and APOP would need the clear password to be checked: they are
            # offered only when every login is accepted anyway.
            return accounts.accepts_any
        return accounts.check(credentials.username, credentials.password)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
