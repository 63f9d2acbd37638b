"""One client's conversation: the brain that reads, has the core understand, acts, answers.

An `asyncio.Protocol` rather than streams: callbacks cost less per message, and the
protocol core already does all the parsing. Storing a message is blocking file work
and runs on the context's threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import cast

from postier.protocol import NEED_DATA, PAUSED, Reply, ServerConnection, catalogue
from postier.protocol.events import (
    Closing,
    CommandRefused,
    DataChunk,
    DataStarted,
    Event,
    MessageComplete,
    MessageRefused,
    StartTlsRequested,
)
from postier.server.context import ServerContext
from postier.server.queue_ids import new_queue_id
from postier.store import Envelope, Spool

log = logging.getLogger("postier.server")


class SmtpSession(asyncio.Protocol):
    """Runs one `ServerConnection` over one transport."""

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.transport: asyncio.Transport | None = None
        self.conn = ServerConnection(context.config)
        self.peer_ip = "unknown"
        self.peer = "unknown"
        self.tls_info: str | None = None
        self._loop = asyncio.get_running_loop()
        self._spool: Spool | None = None
        self._spool_failed = False
        self._delivering = False
        self._handshaking = False
        self._writing_paused = False
        self._deadline = 0.0
        self._lines_seen = -1
        self._timer: asyncio.TimerHandle | None = None
        self._grace_timer: asyncio.TimerHandle | None = None
        self._started = time.monotonic()
        self._accepted = 0
        self._refused = 0
        self._end_reason = "client closed the connection"

    # --- transport callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        if isinstance(peername, tuple):
            self.peer_ip = str(peername[0])
            self.peer = f"[{peername[0]}]:{peername[1]}"
        if not self.context.admit(self):
            self.conn.refuse_connection(
                catalogue.too_many_connections(self.context.config.hostname)
            )
            self._end_reason = "refused: too many connections"
            transport.write(self.conn.data_to_send())
            transport.close()
            log.warning("refused connection from %s: too many connections", self.peer)
            return
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
        for timer in (self._timer, self._grace_timer):
            if timer is not None:
                timer.cancel()
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if exc is not None and self._end_reason == "client closed the connection":
            self._end_reason = f"connection lost ({type(exc).__name__})"
        if self in self.context.sessions:
            self.context.release(self)
            log.info(
                "connection %s closed after %.1fs: %d accepted, %d refused; %s",
                self.peer,
                time.monotonic() - self._started,
                self._accepted,
                self._refused,
                self._end_reason,
            )

    def pause_writing(self) -> None:
        # The client does not read its replies: stop reading its commands too, so
        # nothing piles up in memory.
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()

    # --- the server's own calls ----------------------------------------------------------

    def shutdown(self, *, force: bool = False) -> None:
        """The server stops: let the message under way finish, then 421 (see the core)."""
        self.conn.shutdown(force=force)
        if not force and self._grace_timer is None:
            grace = self.context.settings.shutdown_grace
            self._grace_timer = self._loop.call_later(grace, self._force_shutdown)
        self._end_reason = "server shutting down"
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
            self._end_reason = "internal error"
            self._drop_spool()
            transport.write(catalogue.internal_error(self.context.config.hostname).to_bytes())
            transport.close()

    def _process_events(self, transport: asyncio.Transport) -> None:
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            assert isinstance(event, Event)
            if self._handle(event):
                break
        out = self.conn.data_to_send()
        if out and not transport.is_closing():
            transport.write(out)
        if self.conn.peer_closed and not self._delivering and not self._handshaking:
            transport.close()
            return
        self._update_reading()
        self._update_deadline()

    def _handle(self, event: Event) -> bool:
        """Act on one event; True when processing must stop here."""
        if isinstance(event, DataChunk):
            self._spool_data(event.data)
        elif isinstance(event, DataStarted):
            self._spool = Spool(self.context.settings.spool_memory)
            self._spool_failed = False
        elif isinstance(event, MessageComplete):
            self._delivering = True
            self._loop.create_task(self._deliver(event))
            return True
        elif isinstance(event, MessageRefused):
            self._drop_spool()
            self._refused += 1
            log.info(
                "refused message from <%s> for %s %s: %s",
                event.sender,
                _addresses(event.recipients),
                self.peer,
                event.reply,
            )
        elif isinstance(event, CommandRefused):
            log.debug("%s: %s", self.peer, event.reply)
        elif isinstance(event, StartTlsRequested):
            self._handshaking = True
            self._loop.create_task(self._start_tls())
            return True
        elif isinstance(event, Closing):
            self._close(event)
            return True
        return False

    def _close(self, event: Closing) -> None:
        assert self.transport is not None
        self._drop_spool()
        code = event.reply.code
        if code == 221:
            self._end_reason = "QUIT"
        elif code != 421 or self._end_reason != "server shutting down":
            self._end_reason = str(event.reply)
        self.transport.write(self.conn.data_to_send())
        self.transport.close()

    def _spool_data(self, data: bytes) -> None:
        """Keep a piece of the message; a spool that cannot grow (disk full, no file
        descriptor left) fails the message with 451 at its end, not the session."""
        if self._spool_failed:
            return
        assert self._spool is not None
        try:
            self._spool.write(data)
        except OSError as exc:
            log.error("%s: cannot spool the message: %s", self.peer, exc)
            self._spool_failed = True

    async def _deliver(self, event: MessageComplete) -> None:
        spool, self._spool = self._spool, None
        assert spool is not None
        if self._spool_failed:
            spool.close()
            self._refused += 1
            self._answer(catalogue.delivery_failed())
            return
        queue_id = new_queue_id()
        envelope = Envelope(
            sender=event.sender,
            recipients=event.recipients,
            helo=event.helo,
            peer_ip=self.peer_ip,
            server_name=self.context.config.hostname,
            protocol=event.protocol,
            queue_id=queue_id,
            received_at=datetime.now(UTC),
            tls_info=self.tls_info,
        )
        try:
            await self._loop.run_in_executor(
                self.context.executor, self.context.store.deliver, envelope, spool
            )
        except Exception:
            # The details go to the log; the client hears only 451 (no OS text leaks).
            log.exception("delivery of %s from <%s> failed", queue_id, event.sender)
            self._refused += 1
            answer = catalogue.delivery_failed()
        else:
            self._accepted += 1
            log.info(
                "accepted %s from <%s> for %s %s, %d bytes",
                queue_id,
                event.sender,
                _addresses(event.recipients),
                self.peer,
                event.size,
            )
            answer = catalogue.stored(queue_id)
        finally:
            spool.close()
        self._answer(answer)

    def _answer(self, answer: Reply) -> None:
        self._delivering = False
        self.conn.answer_message(answer)
        self._lines_seen = -1  # the client's deadline starts again now
        self._process()

    async def _start_tls(self) -> None:
        transport = self.transport
        ssl_context = self.context.ssl_context
        assert transport is not None and ssl_context is not None
        transport.write(self.conn.data_to_send())
        try:
            new_transport = await self._loop.start_tls(
                transport,
                self,
                ssl_context,
                server_side=True,
                ssl_handshake_timeout=min(self.context.settings.timeout, 60.0),
            )
        except Exception as exc:  # ssl.SSLError, OSError, TimeoutError: all end the session
            self._end_reason = f"TLS handshake failed ({type(exc).__name__})"
            transport.abort()
            return
        if new_transport is None:
            self._end_reason = "TLS handshake failed"
            transport.abort()
            return
        self.transport = new_transport
        ssl_object = new_transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self.tls_info = f"{ssl_object.version()} with cipher {cipher[0] if cipher else '?'}"
        self._handshaking = False
        self.conn.tls_started()
        self._lines_seen = -1
        self._process()

    # --- flow control and the per-line deadline ---------------------------------------

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._delivering or self._writing_paused:
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
        if self._delivering or self._handshaking:
            self._lines_seen = -1
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._end_reason = "timeout"
        self.conn.timed_out()
        self._process()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _addresses(recipients: tuple[str, ...]) -> str:
    return ", ".join(f"<{r}>" for r in recipients)
