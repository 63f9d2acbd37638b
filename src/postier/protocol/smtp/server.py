"""`ServerConnection`: the server side of one SMTP conversation, without any I/O.

Bytes from the client go in with `receive_data()`; `next_event()` hands out what the
session must act on; reply bytes come out of `data_to_send()`. Commands that need no
outside help (syntax, sequence, limits, EHLO, RSET, NOOP...) are answered here, in
order, so that a pipelined burst (RFC 2920) gets its replies in one write. MAIL and
RCPT are answered here too unless the session asked to decide (`decides_senders`,
`decides_recipients`: a recipient policy, chaos); then the core pauses on each, like
AUTH's credentials, until `answer_sender()` / `answer_recipient()`.

This module holds the session's calls and the dispatch of commands. What the
connection holds and reads besides commands is `conversation.py`'s, framing
`receive_buffer.py`'s, the BDAT bookkeeping `chunking.py`'s, and every move of the
state `state.py`'s.
"""

from __future__ import annotations

from postier.protocol.receive_buffer import TOO_LONG
from postier.protocol.smtp import catalogue
from postier.protocol.smtp.commands import (
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
from postier.protocol.smtp.conversation import Conversation
from postier.protocol.smtp.data import DataDecoder
from postier.protocol.smtp.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.smtp.events import (
    CommandRefused,
    DataStarted,
    HeloAccepted,
    RecipientAccepted,
    RecipientOffered,
    SenderOffered,
    ServerEvent,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.sasl_server import (
    new_exchange,
)
from postier.protocol.smtp.state import (
    AWAITING_ANSWER,
    PAUSES,
    RECEIVING_STATES,
    TRANSITIONS,
    State,
    Trigger,
    out_of_sequence,
)
from postier.protocol.smtp.verdicts import ACCEPT, Verdict, refusal_of
from postier.protocol.smtp.waits import NEED_DATA, PAUSED, SEND_FIRST, Wait

__all__ = ["ACCEPT", "NEED_DATA", "PAUSED", "SEND_FIRST", "ServerConnection"]


class ServerConnection(Conversation):
    """The state machine of one server-side SMTP conversation (RFC 5321 §4.1, §3.3)."""

    # --- the session's calls --------------------------------------------------

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

    def answer_message(self, reply: Reply) -> None:
        """Send the outcome of storing the message that `MessageComplete` announced."""
        if self._state is not State.DELIVERING:
            raise LocalProtocolError(f"no message waits for an answer in state {self._state}")
        self._send(reply)
        self._transaction.reset()
        self._move(Trigger.MESSAGE_ANSWERED)
        self._close_if_shutting_down()

    def answer_auth(self, accepted: bool, *, refusal: Reply | None = None) -> None:
        """The session's verdict on the credentials that `CredentialsReceived` carried;
        `refusal` replaces the usual 535 of a refused login (chaos)."""
        if self._state is not State.AUTH_CHECKING or self._credentials is None:
            raise LocalProtocolError(f"no credentials wait for a verdict in state {self._state}")
        if refusal is not None:
            if accepted:
                raise LocalProtocolError("a refusal goes with a login refused, not accepted")
            refusal_of(refusal)
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
            reply = refusal or catalogue.auth_failed()
            self._send(reply)
            self._events.append(CommandRefused(reply))
        self._close_if_shutting_down()

    def answer_sender(self, verdict: Verdict) -> None:
        """The session's verdict on the sender that `SenderOffered` carried."""
        command = self._offered
        if self._state is not State.SENDER_CHECKING or not isinstance(command, Mail):
            raise LocalProtocolError(f"no sender waits for a verdict in state {self._state}")
        if verdict is ACCEPT:
            self._offered = None
            self._take_sender(command)
            self._move(Trigger.SENDER_ACCEPTED)
        else:
            refusal = refusal_of(verdict)
            self._offered = None
            self._decline(refusal)
            self._move(Trigger.SENDER_REFUSED)
        self._close_if_shutting_down()

    def answer_recipient(self, verdict: Verdict) -> None:
        """The session's verdict on the recipient that `RecipientOffered` carried; the
        commands pipelined after it are processed once it is given (RFC 2920 §3.1: the
        replies go out in the order of the commands)."""
        command = self._offered
        if self._state is not State.RECIPIENT_CHECKING or not isinstance(command, Rcpt):
            raise LocalProtocolError(f"no recipient waits for a verdict in state {self._state}")
        if verdict is ACCEPT:
            self._offered = None
            self._take_recipient(command)
            self._move(Trigger.RECIPIENT_ACCEPTED)
        else:
            refusal = refusal_of(verdict)
            self._offered = None
            self._decline(refusal)
            self._move(Trigger.RECIPIENT_REFUSED)
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

        While the session works on an answer (storing a message, checking a password)
        the client owes us nothing, so there is no deadline to miss: the call is refused.
        During a TLS handshake the client does owe us its part.
        """
        if self._state in AWAITING_ANSWER:
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
        if self._state in AWAITING_ANSWER:
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

    # --- commands -------------------------------------------------------------

    def _receive_command_data(self) -> None:
        line = self._next_line()
        if line is None:
            return
        if self.observer is not None:
            self.observer.line(None if line is TOO_LONG else line, bare_lf=self._input.bare_lf)
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

    def _out_of_sequence(self, command: Command) -> Reply:
        if isinstance(command, StartTls) and not self._offers.starttls:
            return self._offers.starttls_refusal()
        return out_of_sequence(self._state, command)

    def _on_greeting(self, command: Command) -> bool:
        assert isinstance(command, Helo | Ehlo)
        self._transaction.reset()
        self.helo_name = command.name
        self.extended = isinstance(command, Ehlo)
        hostname = self.config.hostname
        if self.extended:
            self._send(catalogue.ehlo(hostname, command.name, self._offers.keywords()))
        else:
            self._send(catalogue.helo(hostname, command.name))
        self._events.append(HeloAccepted(command.name, self.extended))
        return True

    def _on_mail(self, command: Command) -> bool:
        assert isinstance(command, Mail)
        refusal = self._offers.mail_refusal(command, authenticated=self._authenticated)
        if refusal is not None:
            self._refuse(refusal)
            return False
        if self.decides_senders:
            self._offered = command
            self._move(Trigger.SENDER_OFFERED)
            self._events.append(SenderOffered(command.sender))
            return False
        self._take_sender(command)
        return True

    def _take_sender(self, command: Mail) -> None:
        self._transaction.begin(command)
        self._send(catalogue.sender_ok(command.sender))
        self._events.append(TransactionStarted(command.sender))

    def _on_rcpt(self, command: Command) -> bool:
        assert isinstance(command, Rcpt)
        refusal = self._transaction.recipient_refusal(command, self.config.max_recipients)
        if refusal is not None:
            self._refuse(refusal)
            return False
        if self.decides_recipients:
            self._offered = command
            self._recipient_back = self._state
            self._move(Trigger.RECIPIENT_OFFERED)
            self._events.append(RecipientOffered(self._transaction.sender, command.recipient))
            return False
        self._take_recipient(command)
        return True

    def _take_recipient(self, command: Rcpt) -> None:
        self._transaction.recipients.append(command.recipient)
        self._send(catalogue.recipient_ok(command.recipient))
        self._events.append(RecipientAccepted(command.recipient))

    def _on_data(self, command: Command) -> bool:
        if self._transaction.body == "BINARYMIME":
            self._refuse(catalogue.data_with_binarymime())
            return False
        self._send(catalogue.start_data(self._input.bare_lf))
        self._decoder = DataDecoder(self.config.max_message_size, self.config.data_line_limit)
        self._events.append(DataStarted())
        return True

    def _on_rset(self, command: Command) -> bool:
        self._transaction.reset()
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
        if not self._offers.starttls:
            self._refuse(self._offers.starttls_refusal())
            return False
        self._send(catalogue.ready_for_tls())
        self._input.clear()
        self._events.append(StartTlsRequested())
        return True

    def _on_auth(self, command: Command) -> bool:
        assert isinstance(command, Auth)
        refusal = self._offers.auth_refusal(
            command, extended=self.extended, authenticated=self._authenticated
        )
        if refusal is not None:
            self._refuse(refusal)
            return False
        self._sasl = new_exchange(command.mechanism, self.config.hostname)
        self._sasl_step = self._sasl.start(command.initial_response)
        return True

    def _on_bdat(self, command: Command) -> bool:
        assert isinstance(command, Bdat)
        if self._state is State.RCPT:  # the first chunk of the message
            self._chunk.new_message()
            self._events.append(DataStarted())
        self._chunk.start(command.size, last=command.last, refusal=None, back_to=self._state)
        return True


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
