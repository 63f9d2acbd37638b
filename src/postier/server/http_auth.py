"""`--http-auth FILE`: who may use the HTTP server, from the same `user:hash` file as
`--auth FILE` (`postier passwd`), with failures slowed as SMTP's are.

A password hash is slow on purpose (about 0.1 s of scrypt), and a browser sends the
credentials again with every request: checking each would make the page crawl. Once a
user's password is verified, this process keeps an HMAC of it under a key drawn at
start and never written anywhere; a later request whose credentials give the same HMAC
is let in without scrypt. The clear password is never kept, and the HMAC is worthless
outside this process (its key dies with it). Requests that arrive together with the
same new credentials share one check. A wrong password is answered late, as SMTP's
AUTH is (`AuthThrottle`: the account's recent failures set the delay).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from postier.server.accounts import AccountError, PasswordFile
from postier.server.auth_throttle import AuthThrottle
from postier.server.errors import ServerError

log = logging.getLogger("postier.web")

KEY_SIZE: Final = 32
CHECKERS: Final = 2
"""scrypt checks at once (each takes ~32 MiB): SMTP's bound, for the same reason."""


class HttpGate:
    """The accounts of a password file, for basic authentication (`postier.web.Gate`)."""

    def __init__(self, path: Path, *, failure_delay: float) -> None:
        self.path = path
        self.accounts = _load(path)
        self.throttle = AuthThrottle(base=failure_delay, cap=16 * failure_delay)
        self._key = os.urandom(KEY_SIZE)
        self._verified: dict[str, bytes] = {}
        """user → HMAC of the password verified last; one entry per user of the file."""
        self._checking: dict[bytes, asyncio.Future[bool]] = {}
        self._executor = ThreadPoolExecutor(CHECKERS, thread_name_prefix="postier-http-auth")

    def _digest(self, username: str, password: str) -> bytes:
        given = f"{username}\0{password}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, given, hashlib.sha256).digest()

    def remembers(self, username: str, password: str) -> bool:
        """Whether these credentials were verified already (no scrypt needed)."""
        known = self._verified.get(username)
        return known is not None and hmac.compare_digest(known, self._digest(username, password))

    async def admit(self, username: str, password: str, peer: str) -> bool:
        if self.remembers(username, password):
            return True
        digest = self._digest(username, password)
        check = self._checking.get(digest)
        if check is None:
            check = asyncio.ensure_future(self._check(username, password, digest))
            self._checking[digest] = check
            check.add_done_callback(lambda _: self._checking.pop(digest, None))
        if await asyncio.shield(check):
            return True
        delay = self.throttle.failed(username, 0)
        log.warning("%s: HTTP authentication failed for %r", peer, username)
        await asyncio.sleep(delay)
        return False

    async def _check(self, username: str, password: str, digest: bytes) -> bool:
        accounts = self.accounts
        loop = asyncio.get_running_loop()
        try:
            accepted = await loop.run_in_executor(
                self._executor, accounts.check, username, password
            )
        except Exception:
            log.exception("checking the HTTP credentials of %r failed", username)
            return False
        if accepted and accounts is self.accounts:  # not a file replaced meanwhile
            self._verified[username] = digest
            self.throttle.succeeded(username)
        return accepted

    def reload(self) -> None:
        """SIGHUP: read the file again; what was verified is verified again. A file that
        cannot be loaded leaves the accounts in use."""
        try:
            accounts = _load(self.path)
        except ServerError as error:
            log.error("SIGHUP: %s; keeping the HTTP accounts in use", error)
            return
        self.accounts = accounts
        self._verified.clear()
        log.info("SIGHUP: HTTP password file %s loaded", self.path)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _load(path: Path) -> PasswordFile:
    try:
        accounts = PasswordFile.load(path)
    except AccountError as error:
        raise ServerError(f"--http-auth: {error}") from None
    if not len(accounts):
        raise ServerError(f"--http-auth: {path} has no account: nobody could log in")
    return accounts
