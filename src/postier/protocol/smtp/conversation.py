"""What a server connection holds, and what it reads besides command lines.

`Conversation` keeps the state (moved only by `_move()`, through `state.py`'s table),
the queued replies and events, and reads message data (DATA, BDAT chunks) and SASL
responses; `server.py`'s `ServerConnection` adds the session's calls and the dispatch
of commands on top.
"""

from __future__ import annotations

from collections import deque

from postier.protocol.receive_buffer import TOO_LONG, Line, ReceiveBuffer
from postier.protocol.smtp import catalogue
from postier.protocol.smtp.chunking import Chunk
from postier.protocol.smtp.commands import (
    EXTENDED_VERBS,
    Mail,
    Rcpt,
    verb_of,
)
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.data import DataDecoder
from postier.protocol.smtp.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    MessageComplete,
    ServerEvent,
)
from postier.protocol.smtp.observer import Observer
from postier.protocol.smtp.offers import Offers
from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.sasl_names import CANCEL
from postier.protocol.smtp.sasl_server import (
    Challenge,
    Credentials,
    Exchange,
    Failure,
    SaslStep,
)
from postier.protocol.smtp.state import (
    MOVES,
    PAUSES,
    TRANSACTION_STATES,
    Move,
    State,
    Trigger,
    next_state,
)
from postier.protocol.smtp.transaction import Transaction
from postier.protocol.smtp.waits import Pause


class Conversation:
    """The state, replies and non-command input of one server-side conversation."""

    def __init__(
        self, config: ServerConfig, *, tls_active: bool = False, observer: Observer | None = None
    ) -> None:
        self.config = config
        self.observer = observer
        """Told of each line, move and reply (`observer.py`); None: nobody looks."""
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
        self._transaction = Transaction()
        self.authenticated_user: str | None = None
        self.auth_failures = 0
        self._sasl: Exchange | None = None
        self._sasl_step: SaslStep | None = None
        self._credentials: Credentials | None = None
        self._chunk = Chunk()
        self.decides_senders = False
        """The session decides about each sender (`SenderOffered`); False: the core
        takes every sender that passes its own checks (the cheapest way)."""
        self.decides_recipients = False
        """The same for recipients (`RecipientOffered`)."""
        self._offered: Mail | Rcpt | None = None
        """The MAIL or RCPT waiting for the session's verdict."""
        self._recipient_back = State.MAIL
        """Where a refused recipient leaves the connection: where its RCPT came."""
        self._send(catalogue.greeting(config.hostname, config.software))

    # --- what the session reads -----------------------------------------------

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

    # --- lines, and what commands set in motion -------------------------------

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

    def _settle(self) -> None:
        """Carry on with what the command set in motion that needs no more input: an
        AUTH initial response, a BDAT chunk of no octets."""
        if self._sasl_step is not None:
            step, self._sasl_step = self._sasl_step, None
            self._take_sasl_step(step)
        elif self._state is State.BDAT and self._chunk.remaining == 0:
            self._end_of_chunk()

    @property
    def _offers(self) -> Offers:
        return Offers(self.config, self.tls_active)

    @property
    def _authenticated(self) -> bool:
        return self.authenticated_user is not None

    # --- SASL responses (RFC 4954 §4) -----------------------------------------

    def _receive_auth_response(self) -> None:
        line = self._next_line()
        if line is None:
            return
        if self.observer is not None:
            self.observer.secret()
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

    # --- BDAT chunks (RFC 3030) -----------------------------------------------

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

    # --- DATA (RFC 5321 §4.1.1.4) ---------------------------------------------

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
        self._events.append(self._transaction.refused(size, reply))
        self._transaction.reset()
        self._move(Trigger.MESSAGE_REFUSED)
        self._refuse(reply)
        self._close_if_shutting_down()

    def _message_complete(self, size: int) -> MessageComplete:
        return self._transaction.complete(
            size,
            helo=self.helo_name,
            extended=self.extended,
            tls=self.tls_active,
            auth_user=self.authenticated_user,
        )

    # --- the moves of the state, and replies ----------------------------------

    def _move(self, move: Move) -> None:
        """The one place the state changes: `state.py`'s table says where to."""
        before = self._state
        target = MOVES.get((before, move))
        if type(target) is State:  # the common case, taken several times a message
            self._state = target
        else:  # BACK, or a move the table lacks: `next_state` decides, or refuses
            back = (
                self._recipient_back if before is State.RECIPIENT_CHECKING else self._chunk.back_to
            )
            self._state = next_state(before, move, back=back)
        if self.observer is not None:
            self.observer.moved(before, self._state)

    def _send(self, reply: Reply) -> None:
        self._out += reply.to_bytes()
        if self.observer is not None:
            self.observer.replied(reply)

    def _refuse(self, reply: Reply) -> None:
        self._send(reply)
        self._events.append(CommandRefused(reply))
        self.errors += 1
        if self.errors >= self.config.max_errors and self._state is not State.CLOSED:
            self._close(catalogue.too_many_errors(self.config.hostname))

    def _decline(self, reply: Reply) -> None:
        """A refusal of the session's policy: not one of `errors`, which count the
        client's mistakes, and a policy or chaos refusal is none."""
        self._send(reply)
        self._events.append(CommandRefused(reply))

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
        self._transaction.reset()
        self._decoder = None
        self._sasl = None
        self._offered = None
        self._input.clear()
        self._events.append(Closing(reply))
