"""`ClientConnection`: the client side of one SMTP conversation, without any I/O.

Server bytes go in with `receive_data()`; `next_event()` reads each reply, decides
what it allows (go on, fall back, reset, stop; 354 allows the data) and hands out
what the driver must act on; command bytes come out of `data_to_send()`. Every move
of the state is `client_state`'s; a transaction's bookkeeping, PIPELINING's group
(RFC 2920) included, is `client_transaction`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from postier.protocol.smtp.capabilities import HELO_ONLY, Capabilities, parse_ehlo
from postier.protocol.smtp.client_envelope import OutgoingEnvelope, refusal_before_sending
from postier.protocol.smtp.client_events import (
    Authenticated,
    Awaited,
    ClientEvent,
    ClientGreeted,
    Closed,
    DataReady,
    Done,
    Greeting,
    Refused,
    TlsReady,
    TransactionDone,
)
from postier.protocol.smtp.client_outbox import Outbox, Pending
from postier.protocol.smtp.client_state import (
    Answer,
    Call,
    ClientState,
    ClientStateMachine,
    Outcome,
    ReplyClass,
    Trigger,
    broken,
)
from postier.protocol.smtp.client_transaction import Next, Transaction
from postier.protocol.smtp.client_transcript import MASK, Party, TranscriptLine
from postier.protocol.smtp.commands import Command, Data, Ehlo, Helo, Noop, Quit, Rset, StartTls
from postier.protocol.smtp.errors import LocalProtocolError
from postier.protocol.smtp.replies import Reply, ReplyParser
from postier.protocol.smtp.sasl_client import AuthExchange, Mechanism
from postier.protocol.smtp.sasl_names import CANCEL
from postier.protocol.smtp.waits import NEED_DATA, Wait

# RFC 5321 §3.8: 421 may answer any command, and the server closes after it.
_SHUTDOWN = 421


class ClientConnection:
    """The state machine of one client-side SMTP conversation (RFC 5321 §3, §4.1)."""

    def __init__(
        self,
        local_hostname: str,
        *,
        tls_active: bool = False,
        transcript: bool = False,
        transcript_data_lines: int = 100,
    ) -> None:
        self.local_hostname = local_hostname
        self._machine = ClientStateMachine()
        self.tls_active = tls_active
        """Implicit TLS (RFC 8314) or a finished STARTTLS."""
        self.capabilities: Capabilities = HELO_ONLY
        self.authenticated = False
        self._parser = ReplyParser()
        self._peer_closed = False
        self._events: deque[ClientEvent] = deque()
        self._outbox = Outbox(recording=transcript, data_lines=transcript_data_lines)
        self._pending = self._outbox.pending  # the same queue: replies are taken off its front
        self._transaction: Transaction | None = None
        self._auth: AuthExchange | None = None

    # --- the driver's side: bytes and events ------------------------------------------

    @property
    def state(self) -> ClientState:
        """Read only: `ClientStateMachine.move()` is the one place that changes it."""
        return self._machine.state

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; `b""` means it closed the connection."""
        if self.state is ClientState.CLOSED:
            return
        if not data:
            self._peer_closed = True
        self._parser.receive_data(data)

    def next_event(self) -> ClientEvent | Wait:
        """The next event, or `NEED_DATA` when the replies so far are all handled.

        Raises `RemoteProtocolError` when the server breaks the protocol.
        """
        while True:
            if self._events:
                return self._events.popleft()
            if self.state is ClientState.CLOSED:
                return NEED_DATA
            reply = self._parser.next_reply()
            if reply is None:
                if not self._peer_closed:
                    return NEED_DATA
                self._server_closed(self._pending[0].awaited if self._pending else None, None)
                continue
            self._outbox.record(Party.SERVER, *reply.to_bytes().decode("utf-8").splitlines())
            self._on_reply(reply)

    def data_to_send(self) -> bytes:
        """The command bytes queued so far, to be written in one go (empty when none)."""
        return self._outbox.take()

    def take_transcript(self) -> list[TranscriptLine]:
        """The dialogue since the last call (always empty unless `transcript` was asked)."""
        return self._outbox.take_transcript()

    @property
    def awaiting_reply(self) -> bool:
        return bool(self._pending)

    @property
    def awaiting(self) -> str:
        """The command the next reply answers, as a transcript shows it ("" for none)."""
        return self._pending[0].shown if self._pending else ""

    # --- the driver's calls ---------------------------------------------------------------

    def ehlo(self) -> None:
        """Say EHLO; HELO follows by itself if the server refuses it (RFC 5321 §3.2)."""
        self._move(Call.EHLO)
        self._command(Awaited.EHLO, Ehlo(self.local_hostname))

    def starttls(self) -> None:
        """Ask for TLS (RFC 3207 §4); only when the server offered it."""
        if not self.capabilities.starttls or self.tls_active:
            raise LocalProtocolError("STARTTLS was not offered")
        self._move(Call.STARTTLS)
        self._command(Awaited.STARTTLS, StartTls())

    def tls_started(self) -> None:
        """The handshake succeeded: everything learnt before it is forgotten (RFC 3207 §4.2)."""
        self._move(Call.TLS_STARTED)
        self.tls_active = True
        self.capabilities = HELO_ONLY
        self.authenticated = False
        self._parser = ReplyParser()

    def authenticate(self, mechanism: Mechanism) -> None:
        """Run one SASL exchange (RFC 4954 §4); the secrets never reach the transcript."""
        self._move(Call.AUTHENTICATE)
        auth = self._auth = AuthExchange(mechanism)
        self._command(Awaited.AUTH, auth.command, auth.shown)

    def send_envelope(self, envelope: OutgoingEnvelope) -> None:
        """Start a transaction: MAIL, then each RCPT, then DATA, grouped when PIPELINING.

        The caller checks `client_envelope.refusal_before_sending()` first: sending what the server
        said it would refuse is a misuse here.
        """
        refused = refusal_before_sending(self.capabilities, envelope)
        if refused is not None:
            raise LocalProtocolError(refused.text)
        self._move(Call.SEND_ENVELOPE)
        transaction = self._transaction = Transaction(envelope, self.capabilities.pipelining)
        self._command(Awaited.MAIL, transaction.mail(self.capabilities))
        if transaction.pipelined:
            # RFC 2920 §3.1: MAIL and RCPT may be grouped; DATA must end the group.
            for _ in envelope.recipients:
                self._next_recipient()
            self._command(Awaited.DATA, Data())

    def send_data(self, data: bytes) -> bytes:
        """Message bytes to write as they are returned: CRLF and dot-stuffing (RFC 5321 §4.5.2)."""
        self._move(Call.SEND_DATA)
        return self._outbox.data(data)

    def end_data(self) -> None:
        """The end-of-data mark, queued in `data_to_send()` (RFC 5321 §4.1.1.4)."""
        self._move(Call.END_DATA)
        self._outbox.end_data()

    def rset(self) -> None:
        self._move(Call.RSET)
        self._command(Awaited.RSET, Rset())

    def noop(self) -> None:
        self._move(Call.NOOP)
        self._command(Awaited.NOOP, Noop())

    def quit(self) -> None:
        self._move(Call.QUIT)
        self._command(Awaited.QUIT, Quit())

    # --- replies ----------------------------------------------------------------------------

    def _on_reply(self, reply: Reply) -> None:
        if not self._pending:
            if reply.code == _SHUTDOWN:
                self._server_closed(None, reply)
                return
            raise broken("a reply that answers no command")
        pending = self._pending.popleft()
        if reply.code == _SHUTDOWN and pending.awaited is not Awaited.QUIT:
            self._server_closed(pending.awaited, reply)
            return
        # A reply of a class the table has no move for (354 to MAIL) breaks the protocol.
        self._move(Answer.to(pending.awaited, pending.shown, reply))
        _HANDLERS[pending.awaited](self, pending, reply)

    def _on_greeting(self, pending: Pending, reply: Reply) -> None:
        if reply.is_positive:
            self._events.append(Greeting(reply))
        else:
            # RFC 5321 §3.1: a 554 greeting refuses service; the client should QUIT.
            self._refused(pending, reply)

    def _on_ehlo(self, pending: Pending, reply: Reply) -> None:
        if reply.is_positive:
            self._greeted(parse_ehlo(reply), reply)
        elif reply.is_permanent:
            # RFC 5321 §3.2: a server that does not know EHLO still knows HELO.
            self._command(Awaited.HELO, Helo(self.local_hostname))
        else:
            self._refused(pending, reply)

    def _on_helo(self, pending: Pending, reply: Reply) -> None:
        if reply.is_positive:
            self._greeted(HELO_ONLY, reply)
        else:
            self._refused(pending, reply)

    def _greeted(self, capabilities: Capabilities, reply: Reply) -> None:
        self.capabilities = capabilities
        self._events.append(ClientGreeted(capabilities, reply))

    def _on_starttls(self, pending: Pending, reply: Reply) -> None:
        if not reply.is_positive:
            self._refused(pending, reply)
            return
        if self._parser.pending:
            # RFC 3207 §4.2 and the STARTTLS response injection attack: what came in
            # clear after the 220 must not be read as if it came over TLS.
            raise broken("data after the reply to STARTTLS")
        self._events.append(TlsReady(reply))

    def _on_auth(self, pending: Pending, reply: Reply) -> None:
        if ReplyClass.of(reply) is ReplyClass.INTERMEDIATE:
            answer = self._exchange().answer(reply)
            if answer is None:
                self._queue_response(CANCEL, CANCEL)
            else:
                self._queue_response(answer, MASK)
        elif reply.is_positive:
            self.authenticated = True
            self._events.append(Authenticated(reply))
        else:
            self._events.append(Refused(Awaited.AUTH, self._exchange().shown, reply))

    def _on_transaction(self, pending: Pending, reply: Reply) -> None:
        """A reply to MAIL, RCPT, DATA or the end of data: the transaction says what next."""
        step = self._current().after(pending.awaited, pending.recipient, reply)
        if step is Next.SEND:
            self._outbox.start_data()
            self._events.append(DataReady(reply))
        elif step is not Next.WAIT:
            _NEXT[step](self)

    def _on_rset(self, pending: Pending, reply: Reply) -> None:
        if self._transaction is not None:
            self._finish()
            return
        self._events.append(Done(Awaited.RSET, reply))

    def _on_noop(self, pending: Pending, reply: Reply) -> None:
        self._events.append(Done(Awaited.NOOP, reply))

    def _on_quit(self, pending: Pending, reply: Reply) -> None:
        self._end(Awaited.QUIT, reply)

    # --- what the connection does by itself ---------------------------------------------------

    def _next_recipient(self) -> None:
        rcpt = self._current().rcpt()
        self._command(Awaited.RCPT, rcpt, recipient=rcpt.recipient)

    def _send_data_command(self) -> None:
        self._command(Awaited.DATA, Data())

    def _abort_data(self) -> None:
        # RFC 2920 §3.1: 354 although nothing was accepted: send a lone "." so the
        # server leaves its data state, and deliver nothing.
        self._move(Outcome.DATA_ABORTED)
        self._outbox.abort_data()

    def _reset_after_failure(self) -> None:
        # The server still holds the sender (RFC 5321 §4.1.1.5): clear it before the
        # next transaction, which would otherwise get 503.
        self._move(Outcome.RESET_NEEDED)
        self._command(Awaited.RSET, Rset())

    def _finish(self) -> None:
        transaction = self._current()
        self._move(Outcome.TRANSACTION_OVER)
        self._transaction = None
        self._events.append(TransactionDone(transaction.result()))

    def _server_closed(self, awaited: Awaited | None, reply: Reply | None) -> None:
        """A 421 (RFC 5321 §3.8), or the server hung up."""
        self._move(Outcome.CLOSED)
        self._end(awaited, reply)

    # --- helpers -------------------------------------------------------------------------------

    def _move(self, trigger: Trigger) -> None:
        self._machine.move(trigger)

    def _command(
        self, awaited: Awaited, command: Command, shown: str | None = None, recipient: str = ""
    ) -> None:
        """Queue one command; `shown` is what the transcript may print of it."""
        shown = command.line() if shown is None else shown
        self._outbox.send(command.to_bytes(), Pending(awaited, shown, recipient), shown)

    def _queue_response(self, line: str, shown: str) -> None:
        """Queue an AUTH response line (RFC 4954 §4), which is no command."""
        # Within AUTH, a reply answers the exchange as a whole, not a masked line.
        pending = Pending(Awaited.AUTH, self._exchange().shown)
        self._outbox.send(line.encode("ascii") + b"\r\n", pending, shown)

    def _exchange(self) -> AuthExchange:
        if self._auth is None:
            raise LocalProtocolError("no AUTH exchange in progress")
        return self._auth

    def _current(self) -> Transaction:
        if self._transaction is None:
            raise LocalProtocolError("no transaction in progress")
        return self._transaction

    def _refused(self, pending: Pending, reply: Reply) -> None:
        self._events.append(Refused(pending.awaited, pending.shown, reply))

    def _end(self, awaited: Awaited | None, reply: Reply | None) -> None:
        self._outbox.clear()
        self._transaction = None
        if reply is None:
            self._outbox.record(Party.NOTE, "the server closed the connection")
        self._events.append(Closed(awaited, reply))


_Handler = Callable[[ClientConnection, Pending, Reply], None]
_HANDLERS: dict[Awaited, _Handler] = {
    Awaited.GREETING: ClientConnection._on_greeting,
    Awaited.EHLO: ClientConnection._on_ehlo,
    Awaited.HELO: ClientConnection._on_helo,
    Awaited.STARTTLS: ClientConnection._on_starttls,
    Awaited.AUTH: ClientConnection._on_auth,
    Awaited.MAIL: ClientConnection._on_transaction,
    Awaited.RCPT: ClientConnection._on_transaction,
    Awaited.DATA: ClientConnection._on_transaction,
    Awaited.MESSAGE: ClientConnection._on_transaction,
    Awaited.RSET: ClientConnection._on_rset,
    Awaited.NOOP: ClientConnection._on_noop,
    Awaited.QUIT: ClientConnection._on_quit,
}
_NEXT: dict[Next, Callable[[ClientConnection], None]] = {
    Next.RECIPIENT: ClientConnection._next_recipient,
    Next.DATA: ClientConnection._send_data_command,
    Next.ABORT: ClientConnection._abort_data,
    Next.RESET: ClientConnection._reset_after_failure,
    Next.FINISH: ClientConnection._finish,
}
