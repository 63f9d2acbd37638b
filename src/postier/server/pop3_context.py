"""What the POP3 sessions of one process share: settings, the store's read side, the
logins (SMTP's too), the per-address limits, and which mailboxes are held.

One session per mailbox (RFC 1939 §8's exclusive-access lock): the roll of held
mailboxes is this process's, which is enough while one process serves POP3 (with
`--workers`, the first worker alone does). A login is checked by the process's `Logins`,
as SMTP's AUTH is: on a thread, a failure answered late.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from postier.protocol.pop3 import Credentials, Maildrop, Pop3Config, Response, catalogue
from postier.server.client_limits import ClientLimits
from postier.server.logins import Logins
from postier.server.pop3_store import WireSizes, take_maildrop
from postier.settings import Settings
from postier.store.read import NotAnAddress, Reader, ReaderError, locate_address

log = logging.getLogger("postier.pop3")

T = TypeVar("T")

STORE_THREADS: Final = 4
"""Sessions reading the store at once (maildrops, messages, updates); more wait."""


class Holder(Protocol):
    """What the context asks of a session: to stop, gently or at once."""

    def shutdown(self, *, force: bool = False) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LoginAnswer:
    """A login's outcome: the maildrop and the mailbox now held, or the refusal."""

    address: str | None = None
    maildrop: Maildrop | None = None
    refusal: Response | None = None
    failed: bool = False
    """The credentials were wrong (counted), not the mailbox unavailable."""


@dataclass(slots=True)
class Pop3Context:
    settings: Settings
    reader: Reader
    logins: Logins
    """The process's: one password file and one throttle for SMTP and POP3."""
    ssl_context: ssl.SSLContext | None = None
    config: Pop3Config = field(init=False)
    limits: ClientLimits = field(init=False)
    sizes: WireSizes = field(default_factory=WireSizes)
    sessions: set[Holder] = field(default_factory=set)
    held: dict[str, Holder] = field(default_factory=dict)
    """Mailbox address → the session that holds it."""
    closing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    _store_threads: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.config = settings.pop3_config()
        self.limits = ClientLimits(
            max_connections=settings.max_client_connections,
            max_errors=settings.max_client_errors,
            error_window=settings.client_error_window,
            exempt=settings.client_limit_exempt,
        )
        self._store_threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="postier-pop3")
        self.idle.set()

    async def on_store(self, call: Callable[[], T]) -> T:
        """`call()` on a store thread: a Reader call never runs on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._store_threads, call)

    # --- the roll of sessions ----------------------------------------------------------

    def admit(self, session: Holder, ip: str) -> Response | None:
        hostname = self.config.hostname
        if self.closing:
            return catalogue.shutting_down(hostname)
        if len(self.sessions) >= self.settings.max_connections:
            return catalogue.turned_away(hostname, "too many connections")
        over = self.limits.refusal(ip)
        if over is not None:
            return catalogue.turned_away(hostname, over.reason)
        self.sessions.add(session)
        self.limits.opened(ip)
        self.idle.clear()
        return None

    def release(self, session: Holder, ip: str, address: str | None) -> None:
        if address is not None and self.held.get(address) is session:
            del self.held[address]
        if session in self.sessions:
            self.sessions.discard(session)
            self.limits.closed(ip)
        if not self.sessions:
            self.idle.set()

    async def shutdown(self) -> None:
        self.closing = True
        for session in list(self.sessions):
            session.shutdown()
        try:
            await asyncio.wait_for(self.idle.wait(), self.settings.shutdown_grace)
        except TimeoutError:
            for session in list(self.sessions):
                session.shutdown(force=True)
            try:
                await asyncio.wait_for(self.idle.wait(), 5)
            except TimeoutError:
                for session in list(self.sessions):
                    session.abort()
        # An update still running when the grace is over finishes on its thread; the
        # store's deletion is crash-safe if the process ends first.
        self._store_threads.shutdown(wait=False, cancel_futures=True)

    # --- logging in ----------------------------------------------------------------------

    async def login(
        self, session: Holder, credentials: Credentials, failures: int, peer: str
    ) -> LoginAnswer:
        """Check the credentials, then take the mailbox of the same name and its maildrop."""
        user = credentials.username
        if not await self.logins.check(credentials, failures, peer, log=log, label="POP3 "):
            return LoginAnswer(refusal=catalogue.bad_login(), failed=True)
        try:
            address = locate_address(user)
        except NotAnAddress:
            return LoginAnswer(refusal=catalogue.no_such_mailbox(), failed=True)
        if address in self.held:
            log.info("%s: mailbox %s is in use", peer, address)
            return LoginAnswer(refusal=catalogue.in_use())
        self.held[address] = session
        try:
            maildrop = await self.on_store(lambda: take_maildrop(self.reader, address, self.sizes))
        except (ReaderError, OSError) as error:
            del self.held[address]
            log.error("%s: cannot read the mailbox of %s: %s", peer, address, error)
            return LoginAnswer(refusal=catalogue.mailbox_unreadable())
        except BaseException:
            del self.held[address]
            raise
        log.info(
            "%s logged in as %r (%s): %d messages", peer, user, credentials.mechanism,
            maildrop.count,
        )  # fmt: skip
        return LoginAnswer(address=address, maildrop=maildrop)
