"""What the listeners of one server process share: the store, the TLS context, the accounts."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postier.relay import OutboundQueue, RelayConfig, RelayConfigError
from postier.server.accounts import AccountError, Accounts, load_accounts
from postier.server.errors import ServerError
from postier.server.index_process import ProcessRounds
from postier.server.logins import Logins
from postier.server.tls import reload_certificate, server_context
from postier.settings import Settings
from postier.store import MailStore, StoreError, open_store
from postier.store.read import Indexer, Reader, ReaderError, Rounds

if TYPE_CHECKING:
    from postier.metrics import Metrics

log = logging.getLogger("postier.server")


@dataclass(slots=True)
class Shared:
    """Opened once per process (each `--workers` worker opens its own, after the fork)."""

    settings: Settings
    store: MailStore
    tls: ssl.SSLContext | None
    """Its certificate is replaced in place on SIGHUP; each handshake takes the one current."""
    accounts: Accounts | None
    """Who may log in; replaced on SIGHUP when it is a password file."""
    reader: Reader | None = None
    """The store's read side, for the listeners that read (the index is kept by `indexer`)."""
    indexer: Indexer | None = None
    """Keeps the index up to date after each delivery batch (None with `--no-index`)."""
    logins: Logins | None = None
    """Checks the logins of every listener (SMTP's AUTH, POP3's) with one throttle."""
    relay: RelayConfig = field(default_factory=RelayConfig)
    """Where relayed and released mail goes (`--relay*`)."""
    outbound: OutboundQueue | None = None
    """The outbound queue, when there is an upstream to send it to."""
    metrics: Metrics | None = None
    """`--metrics`: the process's figures; None: nothing is counted."""

    @classmethod
    def open(cls, settings: Settings) -> Shared:
        """Load the certificate, open the store, load the accounts; raises ServerError."""
        try:
            relay = settings.relay_config()
        except RelayConfigError as exc:
            raise ServerError(str(exc)) from None
        tls = server_context(settings.tls_cert, settings.tls_key)
        store = _open_store(settings)
        try:
            accounts = load_accounts(settings.auth)
        except AccountError as exc:
            store.close()
            raise ServerError(str(exc)) from None
        shared = cls(settings, store, tls, accounts, relay=relay)
        if relay.upstream is not None:
            shared.outbound = OutboundQueue(settings.store, fsync=settings.fsync)
        if settings.metrics:
            from postier.metrics import Metrics  # prometheus_client only if asked

            shared.metrics = Metrics(multiprocess=settings.metrics_dir)
            shared.metrics.live.outbound = shared.outbound
        shared.logins = Logins(accounts, settings.auth_failure_delay)
        shared.reader = Reader(
            settings.store, fsync=settings.fsync, tags_from_plus=settings.tags_from_plus
        )
        if settings.index:
            lag = None if shared.metrics is None else shared.metrics.index_lag
            shared.indexer = Indexer(
                shared.reader, settings.format, lag=lag, rounds=_rounds(shared.reader)
            )
        return shared

    def delivered(self, recipients: list[str]) -> None:
        """The store thread's word after each batch: the index catches up (off its path)."""
        if self.indexer is not None:
            self.indexer.delivered(recipients)

    def reload(self) -> None:
        """SIGHUP: load the certificate and the password file again.

        What is under way keeps what it started with; each new handshake and each new
        login uses the new ones. A file that cannot be loaded leaves the old one in use.
        """
        settings = self.settings
        if settings.tls_cert is not None and self.tls is not None:
            reload_certificate(self.tls, settings.tls_cert, settings.tls_key)
        if settings.auth not in ("none", "any"):
            try:
                self.accounts = load_accounts(settings.auth)
            except AccountError as exc:
                log.error("SIGHUP: %s; keeping the accounts in use", exc)
            else:
                log.info("SIGHUP: password file %s loaded", settings.auth)
                if self.logins is not None:
                    self.logins.accounts = self.accounts

    def close(self) -> None:
        self.store.close()
        if self.logins is not None:
            self.logins.close()
        if self.indexer is not None:
            self.indexer.close()
        if self.reader is not None:
            try:
                self.reader.close()
            except ReaderError as exc:
                log.warning("closing the store's read side: %s", exc)


def _rounds(reader: Reader) -> Rounds | None:
    """The index kept by a process of its own, or by a thread of this one (None) when
    that process cannot be started, or when the index is in this process's memory (a
    store that cannot be written to: nobody else could read what a child wrote)."""
    if reader.db.in_memory:
        return None
    try:
        return ProcessRounds(reader)
    except OSError as exc:
        log.warning("the indexing process could not be started (%s): indexing in this one", exc)
        return None


def _open_store(settings: Settings) -> MailStore:
    try:
        return open_store(settings.store, settings.format, fsync=settings.fsync)
    except StoreError as exc:
        # Wrong format, or a directory that cannot be created or recovered: the store's
        # own message names the store and says why, in one line.
        raise ServerError(str(exc)) from None
    except OSError as exc:
        raise ServerError(
            f"cannot open the store {settings.store}: {exc.strerror or exc}"
        ) from None
