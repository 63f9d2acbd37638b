"""One POP3 client's conversation: the core understands and answers, this acts.

The same shape as SMTP's session: an `asyncio.Protocol` feeding the sans-IO core, a
per-line deadline, flow control both ways. What needs the outside world runs off the
loop: a login on the context's threads (slow hashing, the store's index), a message
streamed from its file a chunk at a time (a 100 MB message is never in memory: each
chunk waits until the client has taken the one before), UPDATE's deletions. A
connection that ends any way but QUIT deletes nothing (RFC 1939 §6).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Coroutine
from typing import Any, cast

from postier.protocol.pop3 import (
    NEED_DATA,
    PAUSED,
    SEND_FIRST,
    Closing,
    CommandRefused,
    Credentials,
    LoginRequested,
    MessageRequested,
    Pop3Connection,
    Pop3Event,
    TlsRequested,
    UpdateRequested,
    Wait,
    catalogue,
)
from postier.server.client_limits import normalize
from postier.server.pop3_context import Pop3Context
from postier.server.pop3_store import CHUNK, open_message, update

log = logging.getLogger("postier.pop3")

CLOSE_GRACE = 10.0
"""Seconds a closing connection has to take its last responses before it is cut."""


class Pop3Session(asyncio.Protocol):
    """Runs one `Pop3Connection` over one transport."""

    def __init__(self, context: Pop3Context, *, implicit_tls: bool = False) -> None:
        self.context = context
        self.conn = Pop3Connection(context.config, tls_active=implicit_tls)
        self.transport: asyncio.Transport | None = None
        self.peer = "unknown"
        self.peer_ip = "unknown"
        self.address: str | None = None
        """The mailbox this session holds, once logged in."""
        self._loop = asyncio.get_running_loop()
        self._writable = asyncio.Event()
        self._writable.set()
        self._busy = False
        """A task (login, message, update) runs: it, not `connection_lost`, lets go."""
        self._reading_while_busy = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._lost = False
        self._deadline = 0.0
        self._lines_seen = -1
        self._timer: asyncio.TimerHandle | None = None
        self._abort_timer: asyncio.TimerHandle | None = None
        self._started = time.monotonic()
        self._errors_reported = 0
        self._end = "client closed the connection"

    # --- transport callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        if isinstance(peername, tuple):
            self.peer = f"[{peername[0]}]:{peername[1]}"
            self.peer_ip = normalize(str(peername[0]))
        refusal = self.context.admit(self, self.peer_ip)
        if refusal is not None:
            self.conn.data_to_send()  # the greeting is not for this one
            transport.write(refusal.to_bytes())
            transport.close()
            log.warning("refused POP3 connection from %s: %s", self.peer, refusal.text)
            return
        log.debug("POP3 connection from %s", self.peer)
        self._process()

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool:
        self.conn.receive_data(b"")
        self._process()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._writable.set()  # a message being streamed notices and stops
        for timer in (self._timer, self._abort_timer):
            if timer is not None:
                timer.cancel()
        if exc is not None and self._end == "client closed the connection":
            self._end = f"connection lost ({type(exc).__name__})"
        if not self._busy:
            self._release()

    def pause_writing(self) -> None:
        self._writable.clear()
        self._update_reading()

    def resume_writing(self) -> None:
        self._writable.set()
        self._update_reading()
        self._process()

    # --- the server's own calls ----------------------------------------------------------

    def shutdown(self, *, force: bool = False) -> None:
        self._end = "server shutting down"
        self.conn.shutdown(force=force)
        self._process()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- the conversation ----------------------------------------------------------------

    def _process(self) -> None:
        """Drain the core's events and act on each; a bug closes the connection with
        `-ERR [SYS/TEMP]`, never a traceback for the client."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        try:
            self._process_events(transport)
        except Exception:
            log.exception("%s: internal error, closing the POP3 connection", self.peer)
            self._end = "internal error"
            transport.write(catalogue.internal_error(self.context.config.hostname).to_bytes())
            transport.close()

    def _process_events(self, transport: asyncio.Transport) -> None:
        while True:
            event = self.conn.next_event()
            if event is SEND_FIRST:
                transport.write(self.conn.data_to_send())
                if not self._writable.is_set():
                    break  # resume_writing() goes on from here
                continue
            if event is NEED_DATA or event is PAUSED:
                break
            assert not isinstance(event, Wait)
            if self._handle(event):
                break
        out = self.conn.data_to_send()
        if out and not transport.is_closing():
            transport.write(out)
        self._update_reading()
        self._update_deadline()
        self._report_errors()

    def _handle(self, event: Pop3Event) -> bool:
        """Act on one event; True when processing stops here (a task goes on)."""
        if isinstance(event, CommandRefused):
            log.debug("%s: %s", self.peer, event.response)
            return False
        if isinstance(event, Closing):
            self._close(event)
        elif isinstance(event, LoginRequested):
            self._start(self._login(event.credentials))
        elif isinstance(event, TlsRequested):
            self._start(self._start_tls(), reading=True)
        elif isinstance(event, MessageRequested):
            self._start(self._send_message(event))
        elif isinstance(event, UpdateRequested):
            self._start(self._update(event))
        return True

    def _start(self, work: Coroutine[Any, Any, None], *, reading: bool = False) -> None:
        """Run `work` as a task; the client is not read meanwhile, unless `reading` (a
        TLS handshake reads for itself)."""
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())
        self._busy = True
        self._reading_while_busy = reading
        self._tasks.add(task := self._loop.create_task(self._run(work)))
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("%s: internal error in a POP3 session", self.peer)
            self._end = "internal error"
            self.abort()
        finally:
            self._busy = False
            if self._lost:
                self._release()
        self._lines_seen = -1  # the client's deadline starts again now
        self._process()

    def _close(self, event: Closing) -> None:
        transport = self.transport
        assert transport is not None
        if event.response.ok:
            self._end = "QUIT"
        elif self._end == "client closed the connection" and not self.conn.peer_closed:
            self._end = str(event.response)
        transport.write(self.conn.data_to_send())
        if not self._writable.is_set():
            transport.abort()
            return
        transport.close()
        self._abort_timer = self._loop.call_later(CLOSE_GRACE, transport.abort)

    def _release(self) -> None:
        if self in self.context.sessions:
            self._report_errors()
            self.context.release(self, self.peer_ip, self.address)
            log.info(
                "POP3 connection %s closed after %.1fs%s; %s",
                self.peer,
                time.monotonic() - self._started,
                f" ({self.address})" if self.address else "",
                self._end,
            )

    def _report_errors(self) -> None:
        errors = self.conn.errors
        if errors != self._errors_reported:
            self.context.limits.record_errors(self.peer_ip, errors - self._errors_reported)
            self._errors_reported = errors

    # --- what runs off the loop ----------------------------------------------------------

    async def _login(self, credentials: Credentials) -> None:
        answer = await self.context.login(self, credentials, self.conn.auth_failures, self.peer)
        if answer.maildrop is not None:
            self.address = answer.address
            if self._lost:
                return  # `_run` lets the mailbox go
            self.conn.login_accepted(answer.maildrop)
        else:
            assert answer.refusal is not None
            self.conn.login_refused(answer.refusal, failed=answer.failed)

    async def _start_tls(self) -> None:
        transport, ssl_context = self.transport, self.context.ssl_context
        assert transport is not None and ssl_context is not None
        try:
            new_transport = await self._loop.start_tls(
                transport, self, ssl_context, server_side=True,
                ssl_handshake_timeout=min(self.context.settings.timeout, 60.0),
            )  # fmt: skip
        except Exception as exc:  # ssl.SSLError, OSError, TimeoutError: all end the session
            self._end = f"TLS handshake failed ({type(exc).__name__})"
            transport.abort()
            return
        if new_transport is None:
            transport.abort()
            return
        self.transport = new_transport
        self.conn.tls_started()

    async def _send_message(self, event: MessageRequested) -> None:
        context, uid = self.context, event.uid
        try:
            closer, stream = await context.on_store(lambda: open_message(context.reader, uid))
        except Exception as error:
            log.warning("%s: message %s cannot be opened: %s", self.peer, uid, error)
            self.conn.message_unavailable(catalogue.message_gone())
            return
        try:
            await self._stream(stream)
        finally:
            await context.on_store(closer.close)

    async def _stream(self, stream: io.BufferedReader) -> None:
        transport = self.transport
        assert transport is not None
        writer = self.conn.message_opened()
        transport.write(self.conn.data_to_send())
        read = stream.read
        while not writer.done:
            if not await self._wait_writable():
                return
            try:
                chunk = await self.context.on_store(lambda: read(CHUNK))
            except Exception as error:
                log.error("%s: reading message: %s", self.peer, error)
                self.conn.abort_message()
                return
            if not chunk:
                break
            transport.write(writer.feed(chunk))
        if self._lost:
            return
        transport.write(writer.end())
        self.conn.message_sent()

    async def _wait_writable(self) -> bool:
        """Until the client has taken what was sent; False when it went or stalled."""
        if not self._writable.is_set():
            try:
                await asyncio.wait_for(self._writable.wait(), self.context.settings.timeout)
            except TimeoutError:
                self._end = "timeout (the client stopped reading)"
                self.abort()
                return False
        return not self._lost

    async def _update(self, event: UpdateRequested) -> None:
        """RFC 1939 §6: what the client deleted leaves the store; what it took is read."""
        context = self.context
        try:
            await context.on_store(lambda: update(context.reader, event.deleted, event.read))
        except Exception as error:
            log.error("%s: POP3 update of %s failed: %s", self.peer, self.address, error)
            self.conn.update_done(catalogue.update_failed())
            return
        maildrop = self.conn.maildrop
        left = maildrop.count if maildrop is not None else 0
        log.info(
            "%s: %s updated: %d deleted, %d marked read",
            self.peer, self.address, len(event.deleted), len(event.read),
        )  # fmt: skip
        self.conn.update_done(catalogue.goodbye_updated(context.config.hostname, left))

    # --- flow control and the per-line deadline ---------------------------------------

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if (self._busy and not self._reading_while_busy) or not self._writable.is_set():
            transport.pause_reading()
        elif not transport.is_reading():
            transport.resume_reading()

    def _update_deadline(self) -> None:
        """Each whole line must arrive within `timeout` seconds (as SMTP's)."""
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
        if self._busy:
            self._lines_seen = -1  # the session, not the client, has the next move
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._end = "timeout"
        self.conn.timed_out()
        self._process()
