"""`ServerConnection`: the server side of one SMTP conversation, without any I/O.

Bytes from the client go in with `receive_data()`; `next_event()` hands out what the
session must act on; reply bytes come out of `data_to_send()`. Commands that need no
outside help (syntax, sequence, limits, EHLO, RSET, NOOP...) are answered here, in
order, so that a pipelined burst (RFC 2920) gets its replies in one write.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from postier.protocol import catalogue
from postier.protocol.commands import (
    EXTENDED_VERBS,
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
    verb_of,
)
from postier.protocol.config import ServerConfig
from postier.protocol.data import DataDecoder
from postier.protocol.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.events import (
    Closing,
    CommandRefused,
    DataChunk,
    DataStarted,
    Event,
    Greeted,
    MessageComplete,
    MessageRefused,
    RecipientAccepted,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.replies import Reply
from postier.protocol.state import (
    AFTER_ANSWER,
    AFTER_DATA,
    AFTER_REFUSED_DATA,
    AFTER_TLS,
    TRANSITIONS,
    State,
    refusal,
)


class Wait(Enum):
    """What `next_event()` returns when it has no event."""

    NEED_DATA = "need data"
    """Everything received so far is processed; feed more bytes."""
    PAUSED = "paused"
    """Waiting for the session: a message to answer, or a TLS handshake."""


NEED_DATA = Wait.NEED_DATA
PAUSED = Wait.PAUSED


class ServerConnection:
    """The state machine of one server-side SMTP conversation (RFC 5321 §4.1, §3.3)."""

    def __init__(self, config: ServerConfig, *, tls_active: bool = False) -> None:
        self.config = config
        self.state = State.CONNECTED
        self.tls_active = tls_active
        self.helo_name = ""
        self.extended = False
        self.errors = 0
        self.lines_received = 0
        """Counts whole lines (commands or data lines): the session's per-line deadline."""
        self._out = bytearray()
        self._events: deque[Event] = deque()
        self._chunks: deque[bytes] = deque()
        self._line = bytearray()
        self._discarding = False
        self._bare_lf = False
        self._peer_closed = False
        self._closing_after_transaction = False
        self._decoder: DataDecoder | None = None
        self._sender = ""
        self._recipients: list[str] = []
        self._smtputf8 = False
        self._body: str | None = None
        self._send(catalogue.greeting(config.hostname, config.software))

    # --- the session's side -------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; `b""` means it closed its side."""
        if not data:
            self._peer_closed = True
        elif self.state is State.TLS_PENDING or self.state is State.CLOSED:
            # RFC 3207 §4.2 / CVE-2021-38371: nothing sent in clear after STARTTLS
            # may be taken as a command once TLS is up.
            return
        else:
            self._chunks.append(data)

    def next_event(self) -> Event | Wait:
        """The next event, or `NEED_DATA` / `PAUSED` when there is none for now."""
        while True:
            if self._events:
                return self._events.popleft()
            if self.state is State.DELIVERING or self.state is State.TLS_PENDING:
                return PAUSED
            if self.state is State.CLOSED or not self._chunks:
                return NEED_DATA
            if self.state is State.DATA:
                self._receive_message_data()
            else:
                self._receive_command_data()

    def data_to_send(self) -> bytes:
        """The reply bytes queued so far (empty when there are none)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def peer_closed(self) -> bool:
        return self._peer_closed

    @property
    def in_transaction(self) -> bool:
        return self.state in (State.MAIL, State.RCPT, State.DATA, State.DELIVERING)

    def answer_message(self, reply: Reply) -> None:
        """Send the outcome of storing the message that `MessageComplete` announced."""
        if self.state is not State.DELIVERING:
            raise LocalProtocolError(f"no message waits for an answer in state {self.state}")
        self._send(reply)
        self._reset_transaction()
        self.state = AFTER_ANSWER
        if self._closing_after_transaction:
            self._close(catalogue.shutting_down(self.config.hostname))

    def tls_started(self) -> None:
        """The TLS handshake after STARTTLS succeeded: the session starts over (RFC 3207 §4.2)."""
        if self.state is not State.TLS_PENDING:
            raise LocalProtocolError("tls_started() without STARTTLS")
        self.tls_active = True
        self.helo_name = ""
        self.extended = False
        self._chunks.clear()
        self._line.clear()
        self.state = AFTER_TLS

    def timed_out(self) -> None:
        """The client missed its deadline: 421 and close; an open transaction is dropped.

        While a message is being stored the client owes us nothing, so there is no
        deadline to miss: the call is refused.
        """
        if self.state is State.DELIVERING:
            raise LocalProtocolError("timed_out() while a message is being stored")
        if self.state is not State.CLOSED:
            self._close(catalogue.timeout(self.config.hostname))

    def shutdown(self, *, force: bool = False) -> None:
        """The server stops: 421 now, or once the message under way is answered.

        A message being received may finish unless `force` is given (when the
        grace period runs out); a message being stored always gets its answer.
        """
        if self.state is State.CLOSED:
            return
        # A message being stored is always answered first: its copies are being
        # written, and a client that heard 421 instead would send it again.
        if self.state is State.DELIVERING or (not force and self.state is State.DATA):
            self._closing_after_transaction = True
            return
        self._close(catalogue.shutting_down(self.config.hostname))

    def refuse_connection(self, reply: Reply) -> None:
        """Close at once with `reply` (e.g. too many connections), instead of serving."""
        self._out.clear()
        self._close(reply)

    # --- commands -----------------------------------------------------------------

    def _receive_command_data(self) -> None:
        line = self._take_line()
        if line is None:
            return
        self.lines_received += 1
        if line is _TOO_LONG:
            self._refuse(catalogue.line_too_long())
            return
        try:
            command = parse_command(line)
        except RemoteProtocolError as exc:
            self._refuse(exc.reply)
            return
        self._dispatch(command)

    def _take_line(self) -> bytes | None:
        """One command line without its ending, `_TOO_LONG`, or None to wait for more."""
        limit = self.config.extended_command_line_limit
        while self._chunks:
            chunk = self._chunks.popleft()
            end = chunk.find(b"\n")
            if end < 0:
                if self._discarding:
                    continue
                self._line += chunk
                if len(self._line) > limit:
                    # Never buffer an unbounded line: drop it now, answer at its end.
                    self._line.clear()
                    self._discarding = True
                continue
            if end + 1 < len(chunk):
                self._chunks.appendleft(chunk[end + 1 :])
            if self._discarding:
                self._discarding = False
                return _TOO_LONG
            self._line += chunk[:end]
            line = bytes(self._line)
            self._line.clear()
            return self._finish_line(line)
        return None

    def _finish_line(self, line: bytes) -> bytes:
        # A bare LF ends a command line too, as typed into `nc` (RFC 5321 §2.3.8 says
        # otherwise, but a command cannot be smuggled: only DATA's end is strict).
        self._bare_lf = not line.endswith(b"\r")
        if not self._bare_lf:
            line = line[:-1]
        length = len(line) + 2
        if length > self.config.extended_command_line_limit or (
            length > self.config.command_line_limit and verb_of(line) not in EXTENDED_VERBS
        ):
            return _TOO_LONG
        return line

    def _dispatch(self, command: Command) -> None:
        key = (self.state, type(command))
        new_state = TRANSITIONS.get(key)
        if new_state is None:
            self._refuse(self._out_of_sequence(command))
            return
        handler = _HANDLERS[type(command)]
        if handler(self, command):
            self.state = new_state

    def _out_of_sequence(self, command: Command) -> Reply:
        if isinstance(command, StartTls) and not self._starttls_offered():
            return self._starttls_refusal()
        return refusal(self.state, command)

    def _on_greeting(self, command: Command) -> bool:
        assert isinstance(command, Helo | Ehlo)
        self._reset_transaction()
        self.helo_name = command.name
        self.extended = isinstance(command, Ehlo)
        if self.extended:
            self._send(catalogue.ehlo(self.config.hostname, command.name, self._keywords()))
        else:
            self._send(catalogue.helo(self.config.hostname, command.name))
        self._events.append(Greeted(command.name, self.extended))
        return True

    def _keywords(self) -> list[str]:
        keywords = [
            "PIPELINING",
            f"SIZE {self.config.max_message_size}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
        ]
        if self._starttls_offered():
            keywords.append("STARTTLS")
        return keywords

    def _on_mail(self, command: Command) -> bool:
        assert isinstance(command, Mail)
        if command.size is not None and command.size > self.config.max_message_size:
            # RFC 1870 §6.1: refuse at once what could never be accepted.
            self._refuse(catalogue.size_exceeded(self.config.max_message_size))
            return False
        self._sender = command.sender
        self._smtputf8 = command.smtputf8
        self._body = command.body
        self._send(catalogue.sender_ok(command.sender))
        self._events.append(TransactionStarted(command.sender))
        return True

    def _on_rcpt(self, command: Command) -> bool:
        assert isinstance(command, Rcpt)
        if not self._smtputf8 and not command.recipient.isascii():
            self._refuse(catalogue.needs_smtputf8())
            return False
        if len(self._recipients) >= self.config.max_recipients:
            # RFC 5321 §4.5.3.1.10: 452, and the client sends the rest later.
            self._refuse(catalogue.too_many_recipients())
            return False
        self._recipients.append(command.recipient)
        self._send(catalogue.recipient_ok(command.recipient))
        self._events.append(RecipientAccepted(command.recipient))
        return True

    def _on_data(self, command: Command) -> bool:
        self._send(catalogue.start_data(self._bare_lf))
        self._decoder = DataDecoder(self.config.max_message_size, self.config.data_line_limit)
        self._events.append(DataStarted())
        return True

    def _on_rset(self, command: Command) -> bool:
        self._reset_transaction()
        self._send(catalogue.reset_ok())
        return True

    def _on_noop(self, command: Command) -> bool:
        self._send(catalogue.ok())
        return True

    def _on_vrfy(self, command: Command) -> bool:
        # RFC 5321 §3.5.3: 252 when we will not verify but will accept mail for it.
        self._send(catalogue.cannot_vrfy())
        return True

    def _on_help(self, command: Command) -> bool:
        self._send(catalogue.help_text())
        return True

    def _on_quit(self, command: Command) -> bool:
        self._close(catalogue.closing(self.config.hostname))
        return True

    def _on_starttls(self, command: Command) -> bool:
        if not self._starttls_offered():
            self._refuse(self._starttls_refusal())
            return False
        self._send(catalogue.ready_for_tls())
        self._chunks.clear()
        self._line.clear()
        self._events.append(StartTlsRequested())
        return True

    def _starttls_offered(self) -> bool:
        return self.config.tls_available and not self.tls_active

    def _starttls_refusal(self) -> Reply:
        if self.tls_active:
            return catalogue.tls_already_active()
        return catalogue.not_implemented("STARTTLS")

    # --- message data ---------------------------------------------------------------

    def _receive_message_data(self) -> None:
        decoder = self._decoder
        assert decoder is not None
        chunk = self._chunks.popleft()
        result = decoder.feed(chunk)
        self.lines_received += chunk.count(b"\n", 0, result.consumed)
        for piece in result.pieces:
            self._events.append(DataChunk(piece))
        if not result.finished:
            return
        if result.consumed < len(chunk):
            self._chunks.appendleft(chunk[result.consumed :])
        self._decoder = None
        self._end_of_data(decoder)

    def _end_of_data(self, decoder: DataDecoder) -> None:
        refused: Reply | None = None
        if decoder.too_big:
            refused = catalogue.size_exceeded(self.config.max_message_size)
        elif decoder.line_too_long:
            refused = catalogue.data_line_too_long(self.config.data_line_limit)
        recipients = tuple(self._recipients)
        if refused is not None:
            self._events.append(MessageRefused(self._sender, recipients, decoder.size, refused))
            self._reset_transaction()
            self.state = AFTER_REFUSED_DATA
            self._refuse(refused)
            if self._closing_after_transaction and self.state is not State.CLOSED:
                self._close(catalogue.shutting_down(self.config.hostname))
            return
        self._events.append(
            MessageComplete(
                sender=self._sender,
                recipients=recipients,
                size=decoder.size,
                helo=self.helo_name,
                protocol=self._with_keyword(),
                smtputf8=self._smtputf8,
                body=self._body,
            )
        )
        self.state = AFTER_DATA

    def _with_keyword(self) -> str:
        """RFC 3848 and RFC 6531 §3.7.3: SMTP, ESMTP, ESMTPS, UTF8SMTP, UTF8SMTPS."""
        if not self.extended:
            return "SMTP"
        base = "UTF8SMTP" if self._smtputf8 else "ESMTP"
        return base + ("S" if self.tls_active else "")

    # --- replies --------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        self._out += reply.to_bytes()

    def _refuse(self, reply: Reply) -> None:
        self._send(reply)
        self._events.append(CommandRefused(reply))
        self.errors += 1
        if self.errors >= self.config.max_errors and self.state is not State.CLOSED:
            self._close(catalogue.too_many_errors())

    def _close(self, reply: Reply) -> None:
        self._send(reply)
        self._reset_transaction()
        self._decoder = None
        self._chunks.clear()
        self.state = State.CLOSED
        self._events.append(Closing(reply))

    def _reset_transaction(self) -> None:
        self._sender = ""
        self._recipients = []
        self._smtputf8 = False
        self._body = None


_TOO_LONG = b"\x00too long"  # a sentinel no real line can be (NUL is refused anyway)

_HANDLERS = {
    Helo: ServerConnection._on_greeting,
    Ehlo: ServerConnection._on_greeting,
    Mail: ServerConnection._on_mail,
    Rcpt: ServerConnection._on_rcpt,
    Data: ServerConnection._on_data,
    Rset: ServerConnection._on_rset,
    Noop: ServerConnection._on_noop,
    Vrfy: ServerConnection._on_vrfy,
    Help: ServerConnection._on_help,
    Quit: ServerConnection._on_quit,
    StartTls: ServerConnection._on_starttls,
}
