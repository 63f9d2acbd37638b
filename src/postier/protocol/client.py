"""`ClientConnection`: the client side of one SMTP conversation, without any I/O.

Server bytes go in with `receive_data()`; `next_event()` reads each reply, decides
what it allows (go on, fall back, reset, stop; 354 allows the data) and hands out
what the driver must act on; command bytes come out of `data_to_send()`. With
PIPELINING (RFC 2920) MAIL, every RCPT and DATA leave as one group.
"""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass, field

from postier.protocol.auth import Mechanism, SaslError
from postier.protocol.capabilities import HELO_ONLY, Capabilities, parse_ehlo
from postier.protocol.client_events import (
    Authenticated,
    Closed,
    DataReady,
    Done,
    Event,
    Greeted,
    Greeting,
    Refused,
    Step,
    TlsReady,
    TransactionDone,
    TransactionResult,
)
from postier.protocol.client_state import CALLS, Call, ClientState
from postier.protocol.client_transcript import MASK, DataLines, Party, TranscriptLine
from postier.protocol.data import DotStuffer
from postier.protocol.envelope import Envelope, mail_command, rcpt_command, refusal
from postier.protocol.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.replies import Reply, ReplyParser
from postier.protocol.waits import NEED_DATA, Wait

# The first digit a positive reply must have (RFC 5321 §4.2.1): 2 completes a
# command, 3 asks for more. A positive reply of the other kind breaks the protocol.
_POSITIVE_CLASS: dict[Step, frozenset[int]] = {
    **{step: frozenset({2}) for step in Step},
    Step.DATA: frozenset({3}),
    Step.AUTH: frozenset({2, 3}),
}
# RFC 5321 §3.8: 421 may answer any command, and the server closes after it.
_SHUTDOWN = 421
_END_OF_DATA = "the end of the message data"
# RFC 4954 §4: "*" cancels an AUTH exchange the client cannot go on with.
_CANCEL = "*"


@dataclass(frozen=True, slots=True)
class _Pending:
    """A command waiting for its reply."""

    step: Step
    shown: str
    recipient: str = ""


@dataclass(slots=True)
class _Transaction:
    """The replies one transaction has had so far."""

    envelope: Envelope
    pipelined: bool
    mail_reply: Reply | None = None
    recipient_replies: dict[str, Reply] = field(default_factory=dict)
    data_reply: Reply | None = None
    message_reply: Reply | None = None
    next_recipient: int = 0
    aborted: bool = False

    @property
    def mail_accepted(self) -> bool:
        return self.mail_reply is not None and self.mail_reply.is_positive

    @property
    def any_accepted(self) -> bool:
        return any(answer.is_positive for answer in self.recipient_replies.values())

    def result(self) -> TransactionResult:
        assert self.mail_reply is not None
        return TransactionResult(
            sender=self.envelope.sender,
            mail_reply=self.mail_reply,
            recipient_replies=dict(self.recipient_replies),
            data_reply=self.data_reply,
            message_reply=self.message_reply,
        )


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
        self.state = ClientState.CONNECTED
        self.tls_active = tls_active
        """Implicit TLS (RFC 8314) or a finished STARTTLS."""
        self.capabilities: Capabilities = HELO_ONLY
        self.authenticated = False
        self._parser = ReplyParser()
        self._peer_closed = False
        self._out = bytearray()
        self._events: deque[Event] = deque()
        self._pending: deque[_Pending] = deque([_Pending(Step.GREETING, "the greeting")])
        self._return_state = ClientState.READY
        self._transaction: _Transaction | None = None
        self._stuffer: DotStuffer | None = None
        self._mechanism: Mechanism | None = None
        self._auth_shown = ""
        self._recording = transcript
        self._transcript: list[TranscriptLine] = []
        self._data_lines_limit = transcript_data_lines
        self._data_lines: DataLines | None = None

    # --- the driver's side: bytes and events ------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; `b""` means it closed the connection."""
        if self.state is ClientState.CLOSED:
            return
        if not data:
            self._peer_closed = True
        self._parser.receive_data(data)

    def next_event(self) -> Event | Wait:
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
                self._close(self._pending[0].step if self._pending else None, None)
                continue
            self._record(Party.SERVER, *reply.to_bytes().decode("utf-8").splitlines())
            self._on_reply(reply)

    def data_to_send(self) -> bytes:
        """The command bytes queued so far, to be written in one go (empty when none)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def take_transcript(self) -> list[TranscriptLine]:
        """The dialogue since the last call (always empty unless `transcript` was asked)."""
        lines, self._transcript = self._transcript, []
        return lines

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
        self._command(Step.EHLO, f"EHLO {self.local_hostname}")

    def starttls(self) -> None:
        """Ask for TLS (RFC 3207 §4); only when the server offered it."""
        if not self.capabilities.starttls or self.tls_active:
            raise LocalProtocolError("STARTTLS was not offered")
        self._move(Call.STARTTLS)
        self._command(Step.STARTTLS, "STARTTLS")

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
        self._mechanism = mechanism
        initial = mechanism.initial_response()
        line = f"AUTH {mechanism.name}"
        self._auth_shown = line
        if initial is not None:
            # RFC 4954 §4: an empty initial response is sent as "=".
            line += " " + (base64.b64encode(initial).decode("ascii") or "=")
            self._auth_shown += " " + MASK
        self._command(Step.AUTH, line, self._auth_shown)

    def send_envelope(self, envelope: Envelope) -> None:
        """Start a transaction: MAIL, then each RCPT, then DATA, grouped when PIPELINING.

        The caller checks `protocol.envelope.refusal()` first: sending what the server
        said it would refuse is a misuse here.
        """
        refused = refusal(self.capabilities, envelope)
        if refused is not None:
            raise LocalProtocolError(refused.text)
        self._move(Call.SEND_ENVELOPE)
        pipelined = self.capabilities.pipelining
        self._transaction = _Transaction(envelope, pipelined)
        self._command(Step.MAIL, mail_command(envelope, self.capabilities))
        if pipelined:
            # RFC 2920 §3.1: MAIL and RCPT may be grouped; DATA must end the group.
            for _ in envelope.recipients:
                self._next_recipient()
            self._command(Step.DATA, "DATA")

    def send_data(self, data: bytes) -> bytes:
        """Message bytes to write as they are returned: CRLF and dot-stuffing (RFC 5321 §4.5.2)."""
        self._move(Call.SEND_DATA)
        assert self._stuffer is not None
        wire = self._stuffer.feed(data)
        if self._data_lines is not None:
            self._record(Party.CLIENT, *self._data_lines.feed(wire))
        return wire

    def end_data(self) -> None:
        """The end-of-data mark, queued in `data_to_send()` (RFC 5321 §4.1.1.4)."""
        self._move(Call.END_DATA)
        assert self._stuffer is not None
        tail = self._stuffer.end()
        self._stuffer = None
        if self._data_lines is not None:
            self._record(Party.CLIENT, *self._data_lines.end(tail))
            self._data_lines = None
        self._out += tail
        self._pending.append(_Pending(Step.MESSAGE, _END_OF_DATA))

    def rset(self) -> None:
        before = self.state
        self._move(Call.RSET)
        self._return_state = before
        self._command(Step.RSET, "RSET")

    def noop(self) -> None:
        before = self.state
        self._move(Call.NOOP)
        self._return_state = before
        self._command(Step.NOOP, "NOOP")

    def quit(self) -> None:
        self._move(Call.QUIT)
        self._command(Step.QUIT, "QUIT")

    # --- replies ----------------------------------------------------------------------------

    def _on_reply(self, reply: Reply) -> None:
        if not self._pending:
            if reply.code == _SHUTDOWN:
                self._close(None, reply)
                return
            raise RemoteProtocolError(_broken("a reply that answers no command"))
        pending = self._pending.popleft()
        if reply.code == _SHUTDOWN and pending.step is not Step.QUIT:
            self._close(pending.step, reply)
            return
        if reply.is_positive and reply.code // 100 not in _POSITIVE_CLASS[pending.step]:
            raise RemoteProtocolError(_broken(f"reply {reply.code} does not fit {pending.shown}"))
        _HANDLERS[pending.step](self, pending, reply)

    def _on_greeting(self, pending: _Pending, reply: Reply) -> None:
        if reply.is_positive:
            self.state = ClientState.GREETED
            self._events.append(Greeting(reply))
        else:
            # RFC 5321 §3.1: a 554 greeting refuses service; the client should QUIT.
            self.state = ClientState.REJECTED
            self._events.append(Refused(Step.GREETING, pending.shown, reply))

    def _on_ehlo(self, pending: _Pending, reply: Reply) -> None:
        if reply.is_positive:
            self._greeted(parse_ehlo(reply), reply)
        elif reply.is_permanent:
            # RFC 5321 §3.2: a server that does not know EHLO still knows HELO.
            self._command(Step.HELO, f"HELO {self.local_hostname}")
        else:
            self._refused(ClientState.GREETED, pending, reply)

    def _on_helo(self, pending: _Pending, reply: Reply) -> None:
        if reply.is_positive:
            self._greeted(HELO_ONLY, reply)
        else:
            self._refused(ClientState.GREETED, pending, reply)

    def _greeted(self, capabilities: Capabilities, reply: Reply) -> None:
        self.capabilities = capabilities
        self.state = ClientState.READY
        self._events.append(Greeted(capabilities, reply))

    def _on_starttls(self, pending: _Pending, reply: Reply) -> None:
        if not reply.is_positive:
            self._refused(ClientState.READY, pending, reply)
            return
        if self._parser.pending:
            # RFC 3207 §4.2 and the STARTTLS response injection attack: what came in
            # clear after the 220 must not be read as if it came over TLS.
            raise RemoteProtocolError(_broken("data after the reply to STARTTLS"))
        self.state = ClientState.TLS_HANDSHAKE
        self._events.append(TlsReady(reply))

    def _on_auth(self, pending: _Pending, reply: Reply) -> None:
        if reply.code // 100 == 3:
            self._answer_challenge(reply)
            return
        self._mechanism = None
        self.state = ClientState.READY
        if reply.is_positive:
            self.authenticated = True
            self._events.append(Authenticated(reply))
        else:
            self._events.append(Refused(Step.AUTH, self._auth_shown, reply))

    def _answer_challenge(self, reply: Reply) -> None:
        assert self._mechanism is not None
        text = " ".join(reply.lines).strip()
        try:
            # RFC 4954 §4: the challenge is base64. Anything else, non-ASCII text
            # included (a ValueError from b64decode, not a binascii.Error), cannot be
            # answered: the exchange is cancelled with "*".
            challenge = base64.b64decode(text, validate=True)
            answer = base64.b64encode(self._mechanism.respond(challenge)).decode("ascii")
        except (ValueError, SaslError):
            self._command(Step.AUTH, _CANCEL)
            return
        self._command(Step.AUTH, answer, MASK)

    # --- the transaction's replies ----------------------------------------------------------

    def _on_mail(self, pending: _Pending, reply: Reply) -> None:
        transaction = self._current()
        transaction.mail_reply = reply
        if transaction.pipelined:
            return
        if reply.is_positive:
            self._next_recipient()
        else:
            self._finish()

    def _on_rcpt(self, pending: _Pending, reply: Reply) -> None:
        transaction = self._current()
        transaction.recipient_replies[pending.recipient] = reply
        if transaction.pipelined:
            return
        if transaction.next_recipient < len(transaction.envelope.recipients):
            self._next_recipient()
        elif transaction.any_accepted:
            self._command(Step.DATA, "DATA")
        else:
            self._reset_after_failure()

    def _on_data(self, pending: _Pending, reply: Reply) -> None:
        transaction = self._current()
        transaction.data_reply = reply
        if not reply.is_positive:
            if transaction.mail_accepted:
                self._reset_after_failure()
            else:
                self._finish()
        elif transaction.mail_accepted and transaction.any_accepted:
            self.state = ClientState.DATA
            self._stuffer = DotStuffer()
            if self._recording:
                self._data_lines = DataLines(self._data_lines_limit)
            self._events.append(DataReady(reply))
        else:
            # RFC 2920 §3.1: 354 although nothing was accepted: send a lone "."
            # so the server leaves its data state, and deliver nothing.
            transaction.aborted = True
            self.state = ClientState.MESSAGE
            self._out += b".\r\n"
            self._record(Party.CLIENT, ".")
            self._pending.append(_Pending(Step.MESSAGE, _END_OF_DATA))

    def _on_message(self, pending: _Pending, reply: Reply) -> None:
        transaction = self._current()
        if not transaction.aborted:
            transaction.message_reply = reply
        self._finish()

    def _on_rset(self, pending: _Pending, reply: Reply) -> None:
        if self._transaction is not None:
            self._finish()
            return
        self.state = self._return_state
        self._events.append(Done(Step.RSET, reply))

    def _on_noop(self, pending: _Pending, reply: Reply) -> None:
        self.state = self._return_state
        self._events.append(Done(Step.NOOP, reply))

    def _on_quit(self, pending: _Pending, reply: Reply) -> None:
        self._close(Step.QUIT, reply)

    # --- helpers -------------------------------------------------------------------------------

    def _move(self, call: Call) -> None:
        target = CALLS.get((self.state, call))
        if target is None:
            raise LocalProtocolError(f"{call.name} is not allowed in state {self.state.name}")
        self.state = target

    def _command(
        self, step: Step, line: str, shown: str | None = None, recipient: str = ""
    ) -> None:
        """Queue one command line; `shown` is what the transcript may print of it."""
        self._out += line.encode("utf-8") + b"\r\n"
        shown = line if shown is None else shown
        # Within AUTH, a reply answers the exchange as a whole, not a masked line.
        awaiting = self._auth_shown if step is Step.AUTH else shown
        self._pending.append(_Pending(step, awaiting, recipient))
        self._record(Party.CLIENT, shown)

    def _next_recipient(self) -> None:
        transaction = self._current()
        recipient = transaction.envelope.recipients[transaction.next_recipient]
        transaction.next_recipient += 1
        self._command(Step.RCPT, rcpt_command(recipient), recipient=recipient)

    def _reset_after_failure(self) -> None:
        # The server still holds the sender (RFC 5321 §4.1.1.5): clear it before the
        # next transaction, which would otherwise get 503.
        self.state = ClientState.RESET
        self._command(Step.RSET, "RSET")

    def _finish(self) -> None:
        transaction = self._current()
        self._transaction = None
        self.state = ClientState.READY
        self._events.append(TransactionDone(transaction.result()))

    def _current(self) -> _Transaction:
        if self._transaction is None:
            raise LocalProtocolError("no transaction in progress")
        return self._transaction

    def _refused(self, state: ClientState, pending: _Pending, reply: Reply) -> None:
        self.state = state
        self._events.append(Refused(pending.step, pending.shown, reply))

    def _close(self, step: Step | None, reply: Reply | None) -> None:
        self.state = ClientState.CLOSED
        self._pending.clear()
        self._transaction = None
        self._stuffer = None
        if reply is None:
            self._record(Party.NOTE, "the server closed the connection")
        self._events.append(Closed(step, reply))

    def _record(self, party: Party, *texts: str) -> None:
        if self._recording:
            self._transcript.extend(TranscriptLine(party, text) for text in texts)


def _broken(why: str) -> Reply:
    """The `RemoteProtocolError` payload, as `ReplyParser` builds it."""
    return Reply(500, (why,))


_HANDLERS = {
    Step.GREETING: ClientConnection._on_greeting,
    Step.EHLO: ClientConnection._on_ehlo,
    Step.HELO: ClientConnection._on_helo,
    Step.STARTTLS: ClientConnection._on_starttls,
    Step.AUTH: ClientConnection._on_auth,
    Step.MAIL: ClientConnection._on_mail,
    Step.RCPT: ClientConnection._on_rcpt,
    Step.DATA: ClientConnection._on_data,
    Step.MESSAGE: ClientConnection._on_message,
    Step.RSET: ClientConnection._on_rset,
    Step.NOOP: ClientConnection._on_noop,
    Step.QUIT: ClientConnection._on_quit,
}
