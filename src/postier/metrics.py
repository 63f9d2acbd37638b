"""`--metrics`: the server's figures in Prometheus's text format (`GET /metrics`).

One registry per server process, never `prometheus_client`'s global one, so that tests
and several servers in one process do not mix their figures. The counters are bumped
where things happen (a session, its TLS, its logins, its messages; the store thread's
batches; the indexer); without `--metrics` there is no `Metrics` at all and each of
those places skips it with one `is None` test.

What is a state rather than an event is read when scraped: the outbound queue's length
and the age of its oldest entry (one listing of its directory: entry ids begin with
their time), and the web clients connected (the live events' sockets).

With `--workers N` each worker counts its own, and the first alone serves HTTP. Then
the counters live in `prometheus_client`'s multiprocess mode: each worker writes its
values to files of its own in a directory the parent made for the run, and a scrape
adds up every worker's files (`MultiProcessCollector`); the sessions open and the
index lag are gauges summed over the workers alive. The figures read at scrape time are
the first worker's, which are the server's (the queue is one directory; only the first
worker serves web clients).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from postier.protocol.smtp import Reply

if TYPE_CHECKING:
    from postier.relay import OutboundQueue

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The `Content-Type` of a scrape."""

DELIVERY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Seconds: a message with fsync takes a few milliseconds, without one well under one."""

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""Where `prometheus_client` writes a process's values in multiprocess mode."""


class Metrics:
    """The figures of one server process.

    `multiprocess`: the run's directory when this process is one of `--workers`' (see
    the module's docstring); None: the values stay in this process's memory.
    """

    def __init__(self, *, multiprocess: Path | None = None) -> None:
        self.multiprocess = multiprocess
        if multiprocess is not None:
            _use_files(multiprocess)
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "postier_smtp_messages_accepted",
            "Messages stored and answered 250.",
            registry=registry,
        )
        self.refused = Counter(
            "postier_smtp_messages_refused",
            "Messages refused at the end of their data, by reason (limit: too large; "
            "chaos: --chaos data; store: the store failed; spool: the spool failed) "
            "and reply code.",
            ["reason", "code"],
            registry=registry,
        )
        self.envelope_refused = Counter(
            "postier_smtp_envelope_refused",
            "Senders (MAIL) and recipients (RCPT) refused, by reason (policy: --accept "
            "and --reject; chaos: --chaos) and reply code.",
            ["command", "reason", "code"],
            registry=registry,
        )
        self.received_bytes = Counter(
            "postier_smtp_received_bytes",
            "Bytes of message data received, whatever became of the message.",
            registry=registry,
        )
        self.sessions_open = Gauge(
            "postier_smtp_sessions_open",
            "SMTP sessions open now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.sessions = Counter(
            "postier_smtp_sessions", "SMTP sessions served since the start.", registry=registry
        )
        self.tls = Counter(
            "postier_smtp_tls",
            "TLS handshakes by mode (starttls, implicit) and outcome (ok, failed).",
            ["mode", "outcome"],
            registry=registry,
        )
        self.auth = Counter(
            "postier_smtp_auth",
            "SMTP logins by outcome (success, failure; chaos: refused by --chaos).",
            ["outcome"],
            registry=registry,
        )
        self.delivery = Histogram(
            "postier_smtp_delivery_seconds",
            "From the end of a message's data to its 250.",
            registry=registry,
            buckets=DELIVERY_BUCKETS,
        )
        self.flush = Histogram(
            "postier_store_flush_seconds",
            "Time the store takes to write and flush one batch of messages.",
            registry=registry,
            buckets=DELIVERY_BUCKETS,
        )
        self.index_lag = Gauge(
            "postier_index_lag_messages",
            "Copies stored that the index has not taken in yet.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._tls_ok = {mode: self.tls.labels(mode, "ok") for mode in ("starttls", "implicit")}
        self._tls_failed = self.tls.labels("starttls", "failed")
        self.tls.labels("implicit", "failed")  # shown as 0: failed handshakes are not seen
        self._auth = {outcome: self.auth.labels(outcome) for outcome in _AUTH_OUTCOMES}
        self.live = LiveFigures()
        if multiprocess is None:
            registry.register(self.live)

    # --- what the sessions tell -----------------------------------------------------------

    def session_opened(self) -> None:
        self.sessions.inc()
        self.sessions_open.inc()

    def session_closed(self) -> None:
        self.sessions_open.dec()

    def tls_done(self, *, implicit: bool = False, ok: bool = True) -> None:
        if ok:
            self._tls_ok["implicit" if implicit else "starttls"].inc()
        else:
            self._tls_failed.inc()

    def logged_in(self, outcome: str) -> None:
        """`outcome`: "success", "failure" or "chaos"."""
        self._auth[outcome].inc()

    def message_refused(self, reason: str, reply: Reply) -> None:
        self.refused.labels(reason, str(int(reply.code))).inc()

    def envelope_refusal(self, command: str, reason: str, reply: Reply) -> None:
        self.envelope_refused.labels(command, reason, str(int(reply.code))).inc()

    # --- a scrape -------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every figure, in the text format: this process's, or every worker's."""
        if self.multiprocess is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess))  # type: ignore[no-untyped-call]
        registry.register(self.live)
        return generate_latest(registry)


_AUTH_OUTCOMES: Final = ("success", "failure", "chaos")


class LiveFigures(Collector):
    """What is read when scraped: the outbound queue, the web clients."""

    def __init__(self) -> None:
        self.outbound: OutboundQueue | None = None
        """The outbound queue (`--relay`); None: no figures of it."""
        self.web_clients: Callable[[], int] | None = None
        """How many web clients are connected (set by the HTTP application)."""
        self.clock: Callable[[], float] = time.time

    def collect(self) -> Iterable[Metric]:
        if self.outbound is not None:
            names = self.outbound.names()
            yield _gauge("postier_relay_queue_length", "Entries in the outbound queue.", len(names))
            oldest = min(names, default=None)
            age = 0.0 if oldest is None else max(0.0, self.clock() - entry_time(oldest))
            yield _gauge(
                "postier_relay_queue_oldest_seconds",
                "Age of the oldest entry of the outbound queue (0: none).",
                age,
            )
        if self.web_clients is not None:
            yield _gauge(
                "postier_web_clients",
                "Web clients connected to the live events.",
                self.web_clients(),
            )


def entry_time(name: str) -> float:
    """When an outbound entry was queued, from its id (`relay.outbound.new_entry_id`)."""
    try:
        return int(name[:16], 16) / 1_000_000
    except ValueError:
        return time.time()


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _use_files(directory: Path) -> None:
    """Multiprocess mode, in this process alone (a worker, after the fork): the values
    of every metric made from now on go to files of this process's in `directory`."""
    os.environ[MULTIPROCESS_ENV] = str(directory)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
