"""One client's conversation: the brain that reads, has the core understand, acts, answers.

An `asyncio.Protocol` rather than streams: callbacks cost less per message, and the
protocol core already does all the parsing. Storing a message (blocking file work)
goes to the store thread of the delivery queue, never runs on the event loop;
checking a password, slow on purpose, runs on a thread too: both through the context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import cast

from postier.ends import EndReason
from postier.protocol.smtp import (
    NEED_DATA,
    PAUSED,
    SEND_FIRST,
    Closing,
    CommandRefused,
    Credentials,
    CredentialsReceived,
    DataChunk,
    DataStarted,
    MessageComplete,
    MessageRefused,
    Pause,
    RecipientOffered,
    Reply,
    ReplyCode,
    SenderOffered,
    ServerConnection,
    ServerEvent,
    StartTlsRequested,
    catalogue,
)
from postier.server.client_limits import normalize
from postier.server.context import End, ServerContext, addresses
from postier.server.late_writer import LateWriter
from postier.server.narration import SessionNarrator
from postier.server.session_message import MessageParts
from postier.server.session_tls import TlsParts
from postier.store import Spool

log = logging.getLogger("postier.server")

CLOSE_GRACE = 10.0
"""Seconds a closing connection has to take its last replies before it is cut."""

_READING_PAUSED = frozenset({Pause.MESSAGE, Pause.CREDENTIALS, Pause.SENDER, Pause.RECIPIENT})
"""The core's pauses during which the client is not read; a TLS handshake reads itself."""


class SmtpSession(MessageParts, TlsParts):
    """Runs one `ServerConnection` over one transport."""

    def __init__(self, context: ServerContext, *, implicit_tls: bool = False) -> None:
        self.context = context
        self.transport: asyncio.Transport | None = None
        self.implicit_tls = implicit_tls
        """RFC 8314: TLS starts at connect, before the greeting (the SMTPS port)."""
        self.narrator: SessionNarrator | None = (
            None if context.explain is None else context.explain.narrator()
        )
        """`--explain`: tells each step (`postier.explain`); None: nothing is told."""
        self.conn = ServerConnection(
            context.config, tls_active=implicit_tls, observer=self.narrator
        )
        if self.narrator is not None:
            self.narrator.attach(self.conn)
        self.peer_ip = "unknown"
        self.peer = "unknown"
        self.tls_info: str | None = None
        self._loop = asyncio.get_running_loop()
        self._spool: Spool | None = None
        self._spool_failed = False
        self._writing_paused = False
        self._deadline = 0.0
        self._lines_seen = -1
        self._timer: asyncio.TimerHandle | None = None
        self._grace_timer: asyncio.TimerHandle | None = None
        self._abort_timer: asyncio.TimerHandle | None = None
        self._started = time.monotonic()
        self._accepted = 0
        self._refused = 0
        self._errors_reported = 0
        self._end = End(EndReason.CLIENT_CLOSED)
        self._late = LateWriter(self._loop, on_flushed=self._late_written)
        """Every reply goes through it: late on purpose with `--chaos delay=SECONDS`."""
        self._drop_in_data = False
        """`--chaos disconnect=PCT` chose this message: hang up at its first data."""

    # --- transport callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        if isinstance(peername, tuple):
            self.peer = f"[{peername[0]}]:{peername[1]}"
            self.peer_ip = normalize(str(peername[0]))
        if self.implicit_tls:
            # The listener made the handshake before calling us (RFC 8314 §3.3).
            self._note_tls(transport)
            if self.context.metrics is not None:
                self.context.metrics.tls_done(implicit=True)
        refusal = self.context.admit(self, self.peer_ip)
        if refusal is not None:
            if self.narrator is not None:
                self.narrator.refused(self.peer, refusal.reason)
            self.conn.refuse_connection(refusal.reply)
            self._end = End(EndReason.REFUSED, refusal.reason)
            transport.write(self.conn.data_to_send())
            transport.close()
            log.warning("refused connection from %s: %s", self.peer, refusal.reason)
            return
        if self.narrator is not None:
            sockname = transport.get_extra_info("sockname")
            port = sockname[1] if isinstance(sockname, tuple) else None
            self.narrator.accepted(self.peer, port, len(self.context.sessions))
        log.debug("connection from %s", self.peer)
        self._process()

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool:
        # Reading is paused while a message is stored, so the client's FIN is only
        # seen once every reply to what came before it has been written.
        self.conn.receive_data(b"")
        self._process()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._timer, self._grace_timer, self._abort_timer):
            if timer is not None:
                timer.cancel()
        self._late.cancel()
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if exc is not None and self._end.reason is EndReason.CLIENT_CLOSED:
            self._end = End(EndReason.CONNECTION_LOST, type(exc).__name__)
        if self.narrator is not None:
            self.narrator.ended(self._end.reason)
        if self in self.context.sessions:
            self._report_errors()
            self.context.release(self, self.peer_ip)
            log.info(
                "connection %s closed after %.1fs: %d accepted, %d refused; %s",
                self.peer,
                time.monotonic() - self._started,
                self._accepted,
                self._refused,
                self._end,
            )

    def pause_writing(self) -> None:
        # The client does not read its replies: stop reading its commands too, so
        # nothing piles up in memory.
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()
        # Commands held back while the client was not reading its replies go on now.
        self._process()

    # --- the server's own calls ----------------------------------------------------------

    def shutdown(self, *, force: bool = False) -> None:
        """The server stops: let the message under way finish, then 421 (see the core)."""
        self.conn.shutdown(force=force)
        if not force and self._grace_timer is None:
            grace = self.context.settings.shutdown_grace
            self._grace_timer = self._loop.call_later(grace, self._force_shutdown)
        self._end = End(EndReason.SHUTDOWN)
        self._process()

    def _force_shutdown(self) -> None:
        self.shutdown(force=True)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- the conversation ----------------------------------------------------------------

    def _process(self) -> None:
        """Drain the core's events, act on each, then send the replies in one write.

        A bug must not leave a client hanging, nor show it a traceback: the log gets
        the details, the client a 421 and the end of the connection.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        try:
            self._process_events(transport)
        except Exception:
            log.exception("%s: internal error, closing the connection", self.peer)
            self._end = End(EndReason.INTERNAL_ERROR)
            self._drop_spool()
            transport.write(catalogue.internal_error(self.context.config.hostname).to_bytes())
            transport.close()

    def _process_events(self, transport: asyncio.Transport) -> None:
        # Read at each turn: a change through the API holds from the next command on.
        policy = self.context.policy
        self.conn.decides_senders = policy.decides_senders
        self.conn.decides_recipients = policy.decides_recipients
        while True:
            event = self.conn.next_event()
            if event is SEND_FIRST:
                self._write(transport, self.conn.data_to_send())
                if self._writing_paused or self._late.backlogged:
                    break  # resume_writing() or _late_written() picks up from here
                continue
            if event is NEED_DATA or event is PAUSED:
                break
            assert isinstance(event, ServerEvent)
            if self._handle(event):
                break
        if transport.is_closing():
            return  # hung up on purpose (chaos) while handling an event
        out = self.conn.data_to_send()
        if out:
            self._write(transport, out)
        if self.conn.peer_closed and self.conn.paused_for is None:
            self._late.close(transport)
            return
        self._update_reading()
        self._update_deadline()
        self._report_errors()

    def _report_errors(self) -> None:
        """Pass new protocol errors on to the per-address count."""
        errors = self.conn.errors
        if errors != self._errors_reported:
            self.context.limits.record_errors(self.peer_ip, errors - self._errors_reported)
            self._errors_reported = errors

    def _handle(self, event: ServerEvent) -> bool:
        """Act on one event; True when processing must stop here."""
        if self.narrator is not None:
            self.narrator.event(event)
        if isinstance(event, DataChunk):
            if self._drop_in_data:
                return self._hang_up()
            self._spool_data(event.data)
        elif isinstance(event, RecipientOffered):
            policy = self.context.policy
            decision = policy.recipient(self.peer_ip, event.sender, event.recipient)
            self.conn.answer_recipient(decision.verdict)
            self._decided(decision, f"recipient <{event.recipient}>", "RCPT")
        elif isinstance(event, SenderOffered):
            decision = self.context.policy.sender(event.sender)
            self.conn.answer_sender(decision.verdict)
            self._decided(decision, f"sender <{event.sender}>", "MAIL")
        elif isinstance(event, DataStarted):
            self._drop_spool()  # a BDAT message dropped between chunks (RSET, EHLO)
            self._spool = Spool(self.context.settings.spool_memory)
            self._spool_failed = False
            self._drop_in_data = self.context.chaos.disconnects()
        elif isinstance(event, MessageComplete):
            if self.context.metrics is not None:
                self.context.metrics.received_bytes.inc(event.size)
            if self._drop_in_data:
                return self._hang_up()
            refusal = self.context.policy.end_of_data()
            if refusal is not None:
                self._refuse_message(event, refusal)
                return False
            self._loop.create_task(self._deliver(event))
            return True
        elif isinstance(event, MessageRefused):
            self._drop_spool()
            self._refused += 1
            if self.context.metrics is not None:
                self.context.metrics.received_bytes.inc(event.size)
                self.context.metrics.message_refused("limit", event.reply)
            log.info(
                "refused message from <%s> for %s %s: %s",
                event.sender,
                addresses(event.recipients),
                self.peer,
                event.reply,
            )
        elif isinstance(event, CommandRefused):
            log.debug("%s: %s", self.peer, event.reply)
        elif isinstance(event, CredentialsReceived):
            self._loop.create_task(self._check_credentials(event.credentials))
            return True
        elif isinstance(event, StartTlsRequested):
            self._loop.create_task(self._start_tls())
            return True
        elif isinstance(event, Closing):
            self._close(event)
            return True
        return False

    def _write(self, transport: asyncio.Transport, data: bytes) -> None:
        self._late.write(transport, data, self.context.chaos.config.delay)

    def _late_written(self) -> None:
        """Replies held back (`delay`) went out: commands held back behind them go on."""
        if not self._late.backlogged:
            self._process()

    def _close(self, event: Closing) -> None:
        assert self.transport is not None
        self._drop_spool()
        code = event.reply.code
        if code == ReplyCode.CLOSING:
            self._end = End(EndReason.QUIT)
        elif code != ReplyCode.SERVICE_UNAVAILABLE or self._end.reason is not EndReason.SHUTDOWN:
            self._end = End(EndReason.CLOSED, str(event.reply))
        self._write(self.transport, self.conn.data_to_send())
        if self._writing_paused:
            # The client does not read: close() would wait for it to take what is
            # queued, holding the connection (and its slot) for as long as it likes.
            self.transport.abort()
            return
        self._late.close(self.transport)
        # Closing waits for the last replies to be sent; a client that stops reading
        # now must not hold the connection either.
        grace = CLOSE_GRACE + self.context.chaos.config.delay
        self._abort_timer = self._loop.call_later(grace, self.transport.abort)

    def _answer(self, answer: Reply) -> None:
        self.conn.answer_message(answer)
        self._lines_seen = -1  # the client's deadline starts again now
        self._process()

    async def _check_credentials(self, credentials: Credentials) -> None:
        chaos = self.context.policy.authentication()
        if chaos is not None:  # refused before the password is even checked
            assert isinstance(chaos.verdict, Reply)
            self.conn.answer_auth(False, refusal=chaos.verdict)
            self._decided(chaos, f"login of {credentials.username!r}")
            if self.context.metrics is not None:
                self.context.metrics.logged_in("chaos")
            self._lines_seen = -1
            self._process()
            return
        failures = self.conn.auth_failures
        accepted = await self.context.check_login(credentials, failures, self.peer)
        if self.context.metrics is not None:
            self.context.metrics.logged_in("success" if accepted else "failure")
        self.conn.answer_auth(accepted)
        self._lines_seen = -1  # the client's deadline starts again now
        self._process()

    # --- flow control and the per-line deadline ---------------------------------------

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.conn.paused_for in _READING_PAUSED or self._writing_paused or self._late.backlogged:
            transport.pause_reading()
        elif not transport.is_reading():
            transport.resume_reading()

    def _update_deadline(self) -> None:
        """Each whole line must arrive within `timeout` seconds (a per-line deadline).

        Reads do not count, lines do, so a client dripping one byte at a time is cut
        like an idle one. While we store a message or shake hands, the clock is ours.
        """
        lines = self.conn.lines_received
        if lines != self._lines_seen:
            self._lines_seen = lines
            self._deadline = self._loop.time() + self.context.settings.timeout
            if self._timer is None:
                self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.conn.paused_for is not None:
            # The session, not the client, has the next move: no deadline to miss.
            self._lines_seen = -1
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._end = End(EndReason.TIMEOUT)
        self.conn.timed_out()
        self._process()
