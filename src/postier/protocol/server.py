"""`ServerConnection`: the server side of one SMTP conversation, without any I/O.

Bytes from the client go in with `receive_data()`; `next_event()` hands out what the
session must act on; reply bytes come out of `data_to_send()`. Commands that need no
outside help (syntax, sequence, limits, EHLO, RSET, NOOP...) are answered here, in
order, so that a pipelined burst (RFC 2920) gets its replies in one write.
"""

from __future__ import annotations

from collections import deque

from postier.protocol import catalogue
from postier.protocol.commands import (
    EXTENDED_VERBS,
    Auth,
    Bdat,
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
    parse_bdat_size,
    parse_command,
    verb_of,
)
from postier.protocol.config import ServerConfig
from postier.protocol.data import DataDecoder
from postier.protocol.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    DataStarted,
    HeloAccepted,
    MessageComplete,
    MessageRefused,
    RecipientAccepted,
    ServerEvent,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.reply import Reply
from postier.protocol.sasl import Challenge, Credentials, Exchange, Failure, SaslStep, new_exchange
from postier.protocol.state import (
    AFTER_ANSWER,
    AFTER_AUTH,
    AFTER_CHUNK,
    AFTER_CREDENTIALS,
    AFTER_DATA,
    AFTER_LAST_CHUNK,
    AFTER_REFUSED_CHUNK,
    AFTER_REFUSED_DATA,
    AFTER_TLS,
    TRANSITIONS,
    State,
    refusal,
)
from postier.protocol.waits import NEED_DATA, PAUSED, SEND_FIRST, Wait


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
        self._events: deque[ServerEvent] = deque()
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
        self.authenticated_user: str | None = None
        self.auth_failures = 0
        self._sasl: Exchange | None = None
        self._sasl_step: SaslStep | None = None
        self._credentials: Credentials | None = None
        self._chunk = _Chunk()
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

    def next_event(self) -> ServerEvent | Wait:
        """The next event, or a `Wait` (`NEED_DATA`, `PAUSED`, `SEND_FIRST`) when there
        is none for now."""
        while True:
            if self._events:
                return self._events.popleft()
            state = self.state
            if state in _PAUSED_STATES:
                return PAUSED
            if state is State.CLOSED or not self._chunks:
                return NEED_DATA
            if state is State.DATA:
                self._receive_message_data()
            elif state is State.BDAT:
                self._receive_chunk_data()
            elif len(self._out) >= self.config.output_limit:
                # Each command line may call for a reply many times its size (HELP,
                # EHLO): without this stop, a burst of them would grow without bound.
                return SEND_FIRST
            elif state is State.AUTH:
                self._receive_auth_response()
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
        return self.state in _TRANSACTION_STATES

    def answer_message(self, reply: Reply) -> None:
        """Send the outcome of storing the message that `MessageComplete` announced."""
        if self.state is not State.DELIVERING:
            raise LocalProtocolError(f"no message waits for an answer in state {self.state}")
        self._send(reply)
        self._reset_transaction()
        self.state = AFTER_ANSWER
        if self._closing_after_transaction:
            self._close(catalogue.shutting_down(self.config.hostname))

    def answer_auth(self, accepted: bool) -> None:
        """The session's verdict on the credentials that `CredentialsReceived` carried."""
        if self.state is not State.AUTH_CHECKING or self._credentials is None:
            raise LocalProtocolError(f"no credentials wait for a verdict in state {self.state}")
        credentials, self._credentials = self._credentials, None
        self._sasl = None
        self.state = AFTER_AUTH
        if accepted:
            self.authenticated_user = credentials.username
            self._send(catalogue.auth_succeeded())
        else:
            self.auth_failures += 1
            if self.auth_failures >= self.config.max_auth_failures:
                self._close(catalogue.too_many_auth_failures(self.config.hostname))
                return
            # Not one of `errors`: a mistyped password is not a protocol error, and the
            # session slows failures down per connection and per account instead.
            reply = catalogue.auth_failed()
            self._send(reply)
            self._events.append(CommandRefused(reply))
        if self._closing_after_transaction:
            self._close(catalogue.shutting_down(self.config.hostname))

    def tls_started(self) -> None:
        """The TLS handshake after STARTTLS succeeded: the session starts over (RFC 3207 §4.2)."""
        if self.state is not State.TLS_PENDING:
            raise LocalProtocolError("tls_started() without STARTTLS")
        self.tls_active = True
        self.helo_name = ""
        self.extended = False
        self.authenticated_user = None
        self._chunks.clear()
        self._line.clear()
        self.state = AFTER_TLS

    def timed_out(self) -> None:
        """The client missed its deadline: 421 and close; an open transaction is dropped.

        While a message is being stored the client owes us nothing, so there is no
        deadline to miss: the call is refused.
        """
        if self.state in _PAUSED_STATES:
            raise LocalProtocolError(f"timed_out() while the session works ({self.state})")
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
        if self.state is State.DELIVERING or self.state is State.AUTH_CHECKING:
            self._closing_after_transaction = True
            return
        if not force and self.state in _RECEIVING_STATES:
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
            if verb_of(line) == "BDAT":
                self._refuse_chunk(parse_bdat_size(line[5:].decode("latin-1")), exc.reply)
            else:
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
            if isinstance(command, Bdat):
                self._refuse_chunk(command.size, self._out_of_sequence(command))
            else:
                self._refuse(self._out_of_sequence(command))
            return
        handler = _HANDLERS[type(command)]
        if handler(self, command):
            self.state = new_state
            self._settle()
        self._close_if_shutting_down()

    def _close_if_shutting_down(self) -> None:
        """A shutdown waited for the transaction under way: once none is, close."""
        if (
            self._closing_after_transaction
            and self.state is not State.CLOSED
            and not self.in_transaction
            and self.state not in _PAUSED_STATES
        ):
            self._close(catalogue.shutting_down(self.config.hostname))

    def _settle(self) -> None:
        """Carry on with what the command set in motion that needs no more input: an
        AUTH initial response, a BDAT chunk of no octets."""
        if self._sasl_step is not None:
            step, self._sasl_step = self._sasl_step, None
            self._take_sasl_step(step)
        elif self.state is State.BDAT and self._chunk.remaining == 0:
            self._end_of_chunk()

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
        self._events.append(HeloAccepted(command.name, self.extended))
        return True

    def _keywords(self) -> list[str]:
        keywords = [
            "PIPELINING",
            f"SIZE {self.config.max_message_size}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "BINARYMIME",
        ]
        if self._starttls_offered():
            keywords.append("STARTTLS")
        if self._auth_offered():
            keywords.append(" ".join(("AUTH", *self.config.auth_mechanisms)))
        return keywords

    def _on_mail(self, command: Command) -> bool:
        assert isinstance(command, Mail)
        if self.config.auth_required and self.authenticated_user is None:
            need_tls = bool(self.config.auth_mechanisms) and not self._auth_offered()
            self._refuse(catalogue.starttls_first() if need_tls else catalogue.auth_required())
            return False
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
        if self._body == "BINARYMIME":
            self._refuse(catalogue.data_with_binarymime())
            return False
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

    # --- AUTH (RFC 4954) -------------------------------------------------------------

    def _on_auth(self, command: Command) -> bool:
        assert isinstance(command, Auth)
        refusal = self._auth_refusal(command)
        if refusal is not None:
            self._refuse(refusal)
            return False
        self._sasl = new_exchange(command.mechanism, self.config.hostname)
        self._sasl_step = self._sasl.start(command.initial_response)
        return True

    def _auth_refusal(self, command: Auth) -> Reply | None:
        if not self.config.auth_mechanisms:
            return catalogue.not_implemented("AUTH")
        if not self.extended:
            return catalogue.auth_needs_ehlo()
        if self.authenticated_user is not None:
            return catalogue.already_authenticated()  # RFC 4954 §4
        if not self._auth_offered():
            return catalogue.auth_needs_tls()
        if command.mechanism not in self.config.auth_mechanisms:
            return catalogue.unknown_mechanism()
        return None

    def _auth_offered(self) -> bool:
        return bool(self.config.auth_mechanisms) and (self.tls_active or self.config.auth_insecure)

    def _receive_auth_response(self) -> None:
        line = self._take_line()
        if line is None:
            return
        self.lines_received += 1
        assert self._sasl is not None
        if line is _TOO_LONG:
            self._take_sasl_step(Failure(catalogue.line_too_long()))
        elif line == b"*":
            self._take_sasl_step(Failure(catalogue.auth_cancelled()))
        else:
            self._take_sasl_step(self._sasl.respond(line.decode("latin-1")))

    def _take_sasl_step(self, step: SaslStep) -> None:
        if isinstance(step, Challenge):
            self._send(catalogue.auth_challenge(step.text))
        elif isinstance(step, Credentials):
            self._credentials = step
            self.state = AFTER_CREDENTIALS
            self._events.append(CredentialsReceived(step))
        else:
            self._sasl = None
            self.state = AFTER_AUTH
            self._refuse(step.reply)

    def _starttls_offered(self) -> bool:
        return self.config.tls_available and not self.tls_active

    def _starttls_refusal(self) -> Reply:
        if self.tls_active:
            return catalogue.tls_already_active()
        return catalogue.not_implemented("STARTTLS")

    # --- BDAT (RFC 3030) --------------------------------------------------------------

    def _on_bdat(self, command: Command) -> bool:
        assert isinstance(command, Bdat)
        if self.state is State.RCPT:  # the first chunk of the message
            self._chunk.message_size = 0
            self._chunk.too_big = False
            self._events.append(DataStarted())
        self._chunk.start(command.size, last=command.last, refusal=None, back_to=self.state)
        return True

    def _refuse_chunk(self, size: int | None, reply: Reply) -> None:
        """A BDAT refused: its octets are still read, and thrown away, before the reply."""
        if size is None:
            self.errors += 1
            self._close(catalogue.bdat_size_unreadable())
            return
        self._chunk.start(size, last=False, refusal=reply, back_to=self.state)
        self.state = State.BDAT
        if size == 0:
            self._end_of_chunk()

    def _receive_chunk_data(self) -> None:
        chunk = self._chunks.popleft()
        info = self._chunk
        take = min(len(chunk), info.remaining)
        if take < len(chunk):
            self._chunks.appendleft(chunk[take:])
            chunk = chunk[:take]
        # The per-line deadline counts a "line" per 1000 octets of a chunk: a client
        # dripping its chunk slowly is cut as if it dripped a line.
        before = info.size - info.remaining
        info.remaining -= take
        self.lines_received += (before + take) // 1000 - before // 1000
        if info.refusal is not None:
            pass  # read only to be thrown away: not part of any message
        elif not info.too_big and take:
            room = max(0, self.config.max_message_size - info.message_size)
            if take > room:
                # As DATA does: exactly the octets within the limit are handed on, so
                # that what the session gets does not depend on how the data was split.
                info.too_big = True
                chunk = chunk[:room]
            if chunk:
                self._events.append(DataChunk(chunk))
        if info.refusal is None:
            info.message_size += take
        if info.remaining == 0:
            self._end_of_chunk()

    def _end_of_chunk(self) -> None:
        info = self._chunk
        if info.refusal is not None:
            self.state = info.back_to
            self._refuse(info.refusal)
            self._close_if_shutting_down()
            return
        if info.too_big:
            reply = catalogue.size_exceeded(self.config.max_message_size)
            recipients = tuple(self._recipients)
            self._events.append(MessageRefused(self._sender, recipients, info.message_size, reply))
            self._reset_transaction()
            self.state = AFTER_REFUSED_CHUNK
            self._refuse(reply)
            if self._closing_after_transaction and self.state is not State.CLOSED:
                self._close(catalogue.shutting_down(self.config.hostname))
            return
        if info.last:
            self._events.append(self._message_complete(info.message_size))
            self.state = AFTER_LAST_CHUNK
            return
        self._send(catalogue.chunk_received(info.size))
        self.state = AFTER_CHUNK

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
        self._events.append(self._message_complete(decoder.size))
        self.state = AFTER_DATA

    def _message_complete(self, size: int) -> MessageComplete:
        return MessageComplete(
            sender=self._sender,
            recipients=tuple(self._recipients),
            size=size,
            helo=self.helo_name,
            protocol=self._with_keyword(),
            smtputf8=self._smtputf8,
            body=self._body,
            auth_user=self.authenticated_user,
        )

    def _with_keyword(self) -> str:
        """RFC 3848 and RFC 6531 §3.7.3: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP,
        UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA."""
        if not self.extended:
            return "SMTP"
        base = "UTF8SMTP" if self._smtputf8 else "ESMTP"
        tls = "S" if self.tls_active else ""
        auth = "A" if self.authenticated_user is not None else ""
        return base + tls + auth

    # --- replies --------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        self._out += reply.to_bytes()

    def _refuse(self, reply: Reply) -> None:
        self._send(reply)
        self._events.append(CommandRefused(reply))
        self.errors += 1
        if self.errors >= self.config.max_errors and self.state is not State.CLOSED:
            self._close(catalogue.too_many_errors(self.config.hostname))

    def _close(self, reply: Reply) -> None:
        self._send(reply)
        self._reset_transaction()
        self._decoder = None
        self._sasl = None
        self._chunks.clear()
        self.state = State.CLOSED
        self._events.append(Closing(reply))

    def _reset_transaction(self) -> None:
        self._sender = ""
        self._recipients = []
        self._smtputf8 = False
        self._body = None


class _Chunk:
    """The BDAT chunk being read, and the size of the message its chunks make."""

    __slots__ = ("back_to", "last", "message_size", "refusal", "remaining", "size", "too_big")

    def __init__(self) -> None:
        self.size = 0
        self.remaining = 0
        self.last = False
        self.refusal: Reply | None = None
        """Set when the chunk is read only to be thrown away, then answered with this."""
        self.back_to = State.READY
        self.message_size = 0
        self.too_big = False

    def start(self, size: int, *, last: bool, refusal: Reply | None, back_to: State) -> None:
        self.size = self.remaining = size
        self.last = last
        self.refusal = refusal
        self.back_to = back_to


_PAUSED_STATES = frozenset({State.DELIVERING, State.TLS_PENDING, State.AUTH_CHECKING})
_RECEIVING_STATES = frozenset({State.DATA, State.BDAT, State.CHUNKING})
_TRANSACTION_STATES = frozenset(
    {State.MAIL, State.RCPT, State.DATA, State.BDAT, State.CHUNKING, State.DELIVERING}
)

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
    Auth: ServerConnection._on_auth,
    Bdat: ServerConnection._on_bdat,
}
