"""`ServerConnection`: the server side of one SMTP conversation, without any I/O.

Bytes from the client go in with `receive_data()`; `next_event()` hands out what the
session must act on; reply bytes come out of `data_to_send()`. Commands that need no
outside help (syntax, sequence, limits, EHLO, RSET, NOOP...) are answered here, in
order, so that a pipelined burst (RFC 2920) gets its replies in one write. Framing is
`receive_buffer.py`'s, the BDAT bookkeeping `chunking.py`'s, every move of the state
`state.py`'s: this module dispatches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from postier.protocol import catalogue
from postier.protocol.capabilities import ehlo_keywords
from postier.protocol.chunking import Chunk
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
from postier.protocol.receive_buffer import TOO_LONG, Line, ReceiveBuffer
from postier.protocol.reply import Reply
from postier.protocol.sasl import (
    CANCEL,
    Challenge,
    Credentials,
    Exchange,
    Failure,
    SaslStep,
    new_exchange,
)
from postier.protocol.state import (
    PAUSES,
    RECEIVING_STATES,
    TRANSACTION_STATES,
    TRANSITIONS,
    Move,
    State,
    Trigger,
    next_state,
    out_of_sequence,
)
from postier.protocol.waits import NEED_DATA, PAUSED, SEND_FIRST, Pause, Wait

__all__ = ["NEED_DATA", "PAUSED", "SEND_FIRST", "ServerConnection"]


class ServerConnection:
    """The state machine of one server-side SMTP conversation (RFC 5321 §4.1, §3.3)."""

    def __init__(self, config: ServerConfig, *, tls_active: bool = False) -> None:
        self.config = config
        self._state = State.CONNECTED
        self.tls_active = tls_active
        self.helo_name = ""
        self.extended = False
        self.errors = 0
        self.lines_received = 0
        """Counts whole lines (commands or data lines): the session's per-line deadline."""
        self._out = bytearray()
        self._events: deque[ServerEvent] = deque()
        self._input = ReceiveBuffer(config.extended_command_line_limit)
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
        self._chunk = Chunk()
        self._send(catalogue.greeting(config.hostname, config.software))

    # --- the session's side -------------------------------------------------------

    @property
    def state(self) -> State:
        """Where the conversation is; only `_move()` changes it."""
        return self._state

    @property
    def paused_for(self) -> Pause | None:
        """What the session must do before anything more is read (None: nothing)."""
        return PAUSES.get(self._state)

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; `b""` means it closed its side."""
        if not data:
            self._peer_closed = True
        elif self._state is State.TLS_PENDING or self._state is State.CLOSED:
            # RFC 3207 §4.2 / CVE-2021-38371: nothing sent in clear after STARTTLS
            # may be taken as a command once TLS is up.
            return
        else:
            self._input.append(data)

    def next_event(self) -> ServerEvent | Wait:
        """The next event, or a `Wait` (`NEED_DATA`, `PAUSED`, `SEND_FIRST`) when there
        is none for now."""
        while True:
            if self._events:
                return self._events.popleft()
            state = self._state
            if state in PAUSES:
                return PAUSED
            if state is State.CLOSED or not self._input:
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
        return self._state in TRANSACTION_STATES

    def answer_message(self, reply: Reply) -> None:
        """Send the outcome of storing the message that `MessageComplete` announced."""
        if self._state is not State.DELIVERING:
            raise LocalProtocolError(f"no message waits for an answer in state {self._state}")
        self._send(reply)
        self._reset_transaction()
        self._move(Trigger.MESSAGE_ANSWERED)
        self._close_if_shutting_down()

    def answer_auth(self, accepted: bool) -> None:
        """The session's verdict on the credentials that `CredentialsReceived` carried."""
        if self._state is not State.AUTH_CHECKING or self._credentials is None:
            raise LocalProtocolError(f"no credentials wait for a verdict in state {self._state}")
        credentials, self._credentials = self._credentials, None
        self._sasl = None
        self._move(Trigger.VERDICT)
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
        self._close_if_shutting_down()

    def tls_started(self) -> None:
        """The TLS handshake after STARTTLS succeeded: the session starts over (RFC 3207 §4.2)."""
        if self._state is not State.TLS_PENDING:
            raise LocalProtocolError("tls_started() without STARTTLS")
        self.tls_active = True
        self.helo_name = ""
        self.extended = False
        self.authenticated_user = None
        self._input.clear()
        self._move(Trigger.TLS_STARTED)

    def timed_out(self) -> None:
        """The client missed its deadline: 421 and close; an open transaction is dropped.

        While the session works (storing a message, shaking hands, checking a password)
        the client owes us nothing, so there is no deadline to miss: the call is refused.
        """
        if self._state in PAUSES:
            raise LocalProtocolError(f"timed_out() while the session works ({self._state})")
        if self._state is not State.CLOSED:
            self._close(catalogue.timeout(self.config.hostname))

    def shutdown(self, *, force: bool = False) -> None:
        """The server stops: 421 now, or once the message under way is answered.

        A message being received may finish unless `force` is given (when the
        grace period runs out); a message being stored always gets its answer.
        """
        if self._state is State.CLOSED:
            return
        # A message being stored is always answered first: its copies are being
        # written, and a client that heard 421 instead would send it again.
        if self._state is State.DELIVERING or self._state is State.AUTH_CHECKING:
            self._closing_after_transaction = True
            return
        if not force and self._state in RECEIVING_STATES:
            self._closing_after_transaction = True
            return
        self._close(catalogue.shutting_down(self.config.hostname))

    def refuse_connection(self, reply: Reply) -> None:
        """Close at once with `reply` (e.g. too many connections), instead of serving."""
        self._out.clear()
        self._close(reply)

    # --- what the fuzz harness's invariants read ------------------------------------

    @property
    def _chunks(self) -> Iterable[bytes]:
        return self._input.chunks

    @property
    def _line(self) -> bytes:
        return self._input.partial_line

    # --- commands -----------------------------------------------------------------

    def _receive_command_data(self) -> None:
        line = self._next_line()
        if line is None:
            return
        if line is TOO_LONG:
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

    def _next_line(self) -> Line | None:
        """One whole line, counted, or None; only MAIL and RCPT may pass 512 octets."""
        line = self._input.next_line()
        if line is None:
            return None
        self.lines_received += 1
        if (
            line is not TOO_LONG
            and len(line) + len(b"\r\n") > self.config.command_line_limit
            and verb_of(line) not in EXTENDED_VERBS
        ):
            return TOO_LONG
        return line

    def _dispatch(self, command: Command) -> None:
        if (self._state, type(command)) not in TRANSITIONS:
            if isinstance(command, Bdat):
                self._refuse_chunk(command.size, self._out_of_sequence(command))
            else:
                self._refuse(self._out_of_sequence(command))
            return
        if _HANDLERS[type(command)](self, command):
            self._move(type(command))
            self._settle()
        self._close_if_shutting_down()

    def _settle(self) -> None:
        """Carry on with what the command set in motion that needs no more input: an
        AUTH initial response, a BDAT chunk of no octets."""
        if self._sasl_step is not None:
            step, self._sasl_step = self._sasl_step, None
            self._take_sasl_step(step)
        elif self._state is State.BDAT and self._chunk.remaining == 0:
            self._end_of_chunk()

    def _out_of_sequence(self, command: Command) -> Reply:
        if isinstance(command, StartTls) and not self._starttls_offered():
            return self._starttls_refusal()
        return out_of_sequence(self._state, command)

    def _on_greeting(self, command: Command) -> bool:
        assert isinstance(command, Helo | Ehlo)
        self._reset_transaction()
        self.helo_name = command.name
        self.extended = isinstance(command, Ehlo)
        hostname = self.config.hostname
        if self.extended:
            keywords = ehlo_keywords(
                max_size=self.config.max_message_size,
                starttls=self._starttls_offered(),
                auth_mechanisms=self.config.auth_mechanisms if self._auth_offered() else (),
            )
            self._send(catalogue.ehlo(hostname, command.name, keywords))
        else:
            self._send(catalogue.helo(hostname, command.name))
        self._events.append(HeloAccepted(command.name, self.extended))
        return True

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
        self._send(catalogue.start_data(self._input.bare_lf))
        self._decoder = DataDecoder(self.config.max_message_size, self.config.data_line_limit)
        self._events.append(DataStarted())
        return True

    def _on_rset(self, command: Command) -> bool:
        self._reset_transaction()
        return self._answered(catalogue.reset_ok())

    def _answered(self, reply: Reply) -> bool:
        """A command answered at once and always carried out (NOOP, VRFY, HELP, RSET)."""
        self._send(reply)
        return True

    def _on_quit(self, command: Command) -> bool:
        # The move to CLOSED is the command's own (QUIT), not a `Trigger.CLOSE`.
        self._closed(catalogue.closing(self.config.hostname))
        return True

    def _on_starttls(self, command: Command) -> bool:
        if not self._starttls_offered():
            self._refuse(self._starttls_refusal())
            return False
        self._send(catalogue.ready_for_tls())
        self._input.clear()
        self._events.append(StartTlsRequested())
        return True

    def _starttls_offered(self) -> bool:
        return self.config.tls_available and not self.tls_active

    def _starttls_refusal(self) -> Reply:
        if self.tls_active:
            return catalogue.tls_already_active()
        return catalogue.not_implemented("STARTTLS")

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
        line = self._next_line()
        if line is None:
            return
        assert self._sasl is not None
        if line is TOO_LONG:
            self._take_sasl_step(Failure(catalogue.line_too_long()))
        elif line == CANCEL.encode():
            self._take_sasl_step(Failure(catalogue.auth_cancelled()))
        else:
            self._take_sasl_step(self._sasl.respond(line.decode("latin-1")))

    def _take_sasl_step(self, step: SaslStep) -> None:
        if isinstance(step, Challenge):
            self._send(catalogue.auth_challenge(step.text))
        elif isinstance(step, Credentials):
            self._credentials = step
            self._move(Trigger.CREDENTIALS)
            self._events.append(CredentialsReceived(step))
        else:
            self._sasl = None
            self._move(Trigger.EXCHANGE_FAILED)
            self._refuse(step.reply)

    # --- BDAT (RFC 3030) --------------------------------------------------------------

    def _on_bdat(self, command: Command) -> bool:
        assert isinstance(command, Bdat)
        if self._state is State.RCPT:  # the first chunk of the message
            self._chunk.new_message()
            self._events.append(DataStarted())
        self._chunk.start(command.size, last=command.last, refusal=None, back_to=self._state)
        return True

    def _refuse_chunk(self, size: int | None, reply: Reply) -> None:
        """A BDAT refused: its octets are still read, and thrown away, before the reply."""
        if size is None:
            self.errors += 1
            self._close(catalogue.bdat_size_unreadable())
            return
        self._chunk.start(size, last=False, refusal=reply, back_to=self._state)
        self._move(Trigger.BDAT_REFUSED)
        if size == 0:
            self._end_of_chunk()

    def _receive_chunk_data(self) -> None:
        octets = self._input.next_chunk(self._chunk.remaining)
        piece = self._chunk.feed(octets, self.config.max_message_size)
        self.lines_received += piece.lines
        if piece.data:
            self._events.append(DataChunk(piece.data))
        if self._chunk.remaining == 0:
            self._end_of_chunk()

    def _end_of_chunk(self) -> None:
        chunk = self._chunk
        if chunk.refusal is not None:
            self._move(Trigger.CHUNK_REFUSED)
            self._refuse(chunk.refusal)
            self._close_if_shutting_down()
        elif chunk.too_big:
            self._refuse_message(chunk.message_size, catalogue.size_exceeded(self._max_size))
        elif chunk.last:
            self._events.append(self._message_complete(chunk.message_size))
            self._move(Trigger.LAST_CHUNK)
        else:
            self._send(catalogue.chunk_received(chunk.size))
            self._move(Trigger.CHUNK_READ)

    # --- message data ---------------------------------------------------------------

    def _receive_message_data(self) -> None:
        decoder = self._decoder
        assert decoder is not None
        chunk = self._input.next_chunk()
        result = decoder.feed(chunk)
        self.lines_received += chunk.count(b"\n", 0, result.consumed)
        for piece in result.pieces:
            self._events.append(DataChunk(piece))
        if not result.finished:
            return
        if result.consumed < len(chunk):
            self._input.give_back(chunk[result.consumed :])
        self._decoder = None
        if decoder.too_big:
            self._refuse_message(decoder.size, catalogue.size_exceeded(self._max_size))
        elif decoder.line_too_long:
            limit = self.config.data_line_limit
            self._refuse_message(decoder.size, catalogue.data_line_too_long(limit))
        else:
            self._events.append(self._message_complete(decoder.size))
            self._move(Trigger.END_OF_DATA)

    @property
    def _max_size(self) -> int:
        return self.config.max_message_size

    def _refuse_message(self, size: int, reply: Reply) -> None:
        """A message over a limit, DATA or BDAT alike: the transaction is over."""
        recipients = tuple(self._recipients)
        self._events.append(MessageRefused(self._sender, recipients, size, reply))
        self._reset_transaction()
        self._move(Trigger.MESSAGE_REFUSED)
        self._refuse(reply)
        self._close_if_shutting_down()

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

    # --- replies and the moves of the state ------------------------------------------

    def _move(self, move: Move) -> None:
        """The one place the state changes: `state.py`'s table says where to."""
        self._state = next_state(self._state, move, back=self._chunk.back_to)

    def _send(self, reply: Reply) -> None:
        self._out += reply.to_bytes()

    def _refuse(self, reply: Reply) -> None:
        self._send(reply)
        self._events.append(CommandRefused(reply))
        self.errors += 1
        if self.errors >= self.config.max_errors and self._state is not State.CLOSED:
            self._close(catalogue.too_many_errors(self.config.hostname))

    def _close_if_shutting_down(self) -> None:
        """A shutdown waited for the transaction under way: once none is, close."""
        if (
            self._closing_after_transaction
            and self._state is not State.CLOSED
            and not self.in_transaction
            and self._state not in PAUSES
        ):
            self._close(catalogue.shutting_down(self.config.hostname))

    def _close(self, reply: Reply) -> None:
        self._move(Trigger.CLOSE)
        self._closed(reply)

    def _closed(self, reply: Reply) -> None:
        """Send the last reply and forget everything the conversation held."""
        self._send(reply)
        self._reset_transaction()
        self._decoder = None
        self._sasl = None
        self._input.clear()
        self._events.append(Closing(reply))

    def _reset_transaction(self) -> None:
        self._sender = ""
        self._recipients = []
        self._smtputf8 = False
        self._body = None


_HANDLERS = {
    Helo: ServerConnection._on_greeting,
    Ehlo: ServerConnection._on_greeting,
    Mail: ServerConnection._on_mail,
    Rcpt: ServerConnection._on_rcpt,
    Data: ServerConnection._on_data,
    Rset: ServerConnection._on_rset,
    Noop: lambda conn, command: conn._answered(catalogue.ok()),
    # RFC 5321 §3.5.3: 252 when we will not verify but will accept mail for it.
    Vrfy: lambda conn, command: conn._answered(catalogue.cannot_vrfy()),
    Help: lambda conn, command: conn._answered(catalogue.help_text()),
    Quit: ServerConnection._on_quit,
    StartTls: ServerConnection._on_starttls,
    Auth: ServerConnection._on_auth,
    Bdat: ServerConnection._on_bdat,
}
