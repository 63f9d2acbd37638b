"""The POP3 server's one stateful object: `receive_data(bytes)`, `next_event()`, `data_to_send()`.

The session feeds it what the client sends, acts on each event (`events`), and answers
through the methods named there; the core writes every byte the client hears. It reads
no file and checks no password: the maildrop it is given at login is all it knows of
the store. Its state moves only through `state.next_state`, in `_move`.
"""

from __future__ import annotations

import secrets
import time
from collections import deque

from postier.protocol.pop3 import catalogue
from postier.protocol.pop3.commands import (
    Apop,
    Auth,
    Capa,
    Command,
    Pass,
    Quit,
    Retr,
    Stls,
    Top,
    User,
    parse,
)
from postier.protocol.pop3.config import Pop3Config
from postier.protocol.pop3.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.pop3.events import (
    Closing,
    CommandRefused,
    LoginRequested,
    MessageRequested,
    Pop3Event,
    TlsRequested,
    UpdateRequested,
)
from postier.protocol.pop3.maildrop import Maildrop
from postier.protocol.pop3.replies import answer_in_transaction, capabilities, missing
from postier.protocol.pop3.responses import Response, continuation
from postier.protocol.pop3.state import (
    CLOSABLE,
    PAUSED_STATES,
    TRANSITIONS,
    Move,
    State,
    Trigger,
    next_state,
)
from postier.protocol.pop3.waits import NEED_DATA, PAUSED, SEND_FIRST, SEND_FIRST_AT, Wait
from postier.protocol.pop3.wire import MessageWriter
from postier.protocol.receive_buffer import TOO_LONG, ReceiveBuffer
from postier.protocol.sasl import CANCEL, Challenge, Credentials, Failed, Mechanism
from postier.protocol.sasl import new_mechanism as sasl_mechanism


class Pop3Connection:
    """One client's POP3 conversation, sans I/O."""

    def __init__(self, config: Pop3Config, *, tls_active: bool = False) -> None:
        self.config = config
        self.tls_active = tls_active
        self._state = State.AUTHORIZATION
        self._input = ReceiveBuffer(config.command_line_limit)
        self._out = bytearray()
        self._events: deque[Pop3Event] = deque()
        self._user: str | None = None
        self._sasl: Mechanism | None = None
        self._maildrop: Maildrop | None = None
        self._retrieving: int | None = None
        self._top_lines: int | None = None
        self._shutting_down = False
        self.peer_closed = False
        self.lines_received = 0
        self.errors = 0
        self.auth_failures = 0
        self.timestamp: str | None = None
        """APOP's challenge, in the greeting (RFC 1939 §7), when APOP is offered."""
        if config.apop:
            stamp = f"{secrets.randbelow(10**10)}.{int(time.time())}"
            self.timestamp = f"<{stamp}@{config.hostname}>"
        self._send(catalogue.greeting(config.hostname, config.software, self.timestamp))

    # --- what the session reads --------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def maildrop(self) -> Maildrop | None:
        return self._maildrop

    @property
    def passwords_allowed(self) -> bool:
        """RFC 2595 §4: no password in clear unless the server was told to take one."""
        return self.tls_active or self.config.auth_insecure

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive_data(self, data: bytes) -> None:
        """What the client sent; b"" when it closed its side."""
        if not data:
            self.peer_closed = True
        elif self._state is not State.CLOSED:
            self._input.append(data)

    def next_event(self) -> Pop3Event | Wait:
        while True:
            if self._events:
                return self._events.popleft()
            if self._state is State.CLOSED:
                return NEED_DATA
            if self._state in PAUSED_STATES:
                return PAUSED
            if len(self._out) > SEND_FIRST_AT:
                return SEND_FIRST
            line = self._input.next_line()
            if line is None:
                if self.peer_closed:
                    self._close_quietly()
                    continue
                return NEED_DATA
            self.lines_received += 1
            if line is TOO_LONG:
                if self._state is State.SASL:
                    self._sasl_failed(catalogue.line_too_long())
                else:
                    self._error(catalogue.line_too_long())
            elif self._state is State.SASL:
                self._sasl_line(line)
            else:
                self._command_line(line)

    # --- the session's answers -----------------------------------------------------------

    def login_accepted(self, maildrop: Maildrop) -> None:
        self._maildrop = maildrop
        self._move(Trigger.LOGIN_ACCEPTED)
        self._send(catalogue.logged_in(maildrop.count, maildrop.size))
        self._after_answer()

    def login_refused(self, response: Response, *, failed: bool = True) -> None:
        """`failed`: a wrong login (counted, and slowed by the session); else the mailbox
        could not be had (IN-USE, SYS/TEMP)."""
        self._move(Trigger.LOGIN_REFUSED)
        self._user = None
        if failed:
            self.auth_failures += 1
        if self.auth_failures >= self.config.max_auth_failures:
            self._close(catalogue.too_many_failures())
            return
        self._send(response)
        self._after_answer()

    def tls_started(self) -> None:
        """RFC 2595 §4: the session starts over; nothing said in clear is kept."""
        self._move(Trigger.TLS_STARTED)
        self.tls_active = True
        self._user = None
        self._input.clear()

    def message_opened(self) -> MessageWriter:
        """The message is open: `+OK` is queued (send it first); stream the message
        through the writer returned, its `end()` last, then call `message_sent`."""
        assert self._maildrop is not None and self._retrieving is not None
        self._check(State.MESSAGE)
        if self._top_lines is None:
            entry = self._maildrop.entries[self._retrieving - 1]
            self._send(catalogue.message_follows(entry.size))
        else:
            self._send(catalogue.top_follows())
        return MessageWriter(self._top_lines)

    def message_sent(self) -> None:
        """The message and its end line are written; RETR's counts as retrieved."""
        assert self._maildrop is not None and self._retrieving is not None
        self._move(Trigger.MESSAGE_SENT)
        if self._top_lines is None:
            self._maildrop.retrieved.add(self._retrieving)
        self._retrieving = None
        self._after_answer()

    def message_unavailable(self, response: Response) -> None:
        """The message could not be opened (gone from the store): `-ERR`, and on."""
        self._move(Trigger.MESSAGE_UNAVAILABLE)
        self._retrieving = None
        self._send(response)
        self._after_answer()

    def update_done(self, response: Response) -> None:
        """The deletions are done (`+OK`) or not (`-ERR [SYS/TEMP]`): the end either way."""
        self._move(Trigger.UPDATED)
        self._send(response)
        self._events.append(Closing(response))

    def timed_out(self) -> None:
        """The client missed its deadline: closed, and nothing deleted (RFC 1939 §3)."""
        if self._state in CLOSABLE and self._state is not State.MESSAGE:
            self._close(catalogue.timed_out(self.config.hostname))

    def shutdown(self, *, force: bool = False) -> None:
        """The server stops: close now, or once the answer under way is given (`force`:
        a message being sent is cut too)."""
        self._shutting_down = True
        if self._state in CLOSABLE and (force or self._state is not State.MESSAGE):
            self._close(catalogue.shutting_down(self.config.hostname))

    def abort_message(self) -> None:
        """The store failed in the middle of a message: the client must not take what it
        got for the whole message, so the connection ends without the end line."""
        self._move(Trigger.CLOSE)
        self._events.append(Closing(catalogue.message_gone()))

    # --- commands ------------------------------------------------------------------------

    def _command_line(self, line: bytes) -> None:
        try:
            command = parse(line)
        except RemoteProtocolError as error:
            self._error(error.response)
            return
        if (self._state, type(command)) not in TRANSITIONS:
            self._error(catalogue.not_in_state(self._state.name))
            return
        if self._state is State.TRANSACTION:
            self._in_transaction(command)
        else:
            self._in_authorization(command)

    def _in_authorization(self, command: Command) -> None:
        if isinstance(command, Quit):
            self._close(catalogue.goodbye(self.config.hostname), quit_=True)
        elif isinstance(command, Stls):
            self._on_stls()
        elif isinstance(command, User | Pass | Apop | Auth):
            self._on_login(command)
        else:
            self._send(self._capabilities())

    def _on_login(self, command: User | Pass | Apop | Auth) -> None:
        if isinstance(command, Apop):
            if not self.config.apop or self.timestamp is None:
                self._error(catalogue.apop_not_offered())
                return
            credentials = Credentials(
                "APOP", command.name, challenge=self.timestamp, digest=command.digest
            )
            self._login(Apop, credentials)
            return
        if not self.passwords_allowed:
            self._error(catalogue.plaintext_refused())
        elif isinstance(command, User):
            self._user = command.name
            self._send(catalogue.user_ok())
        elif isinstance(command, Pass):
            if self._user is None:
                self._error(catalogue.need_user())
            else:
                self._login(Pass, Credentials("USER", self._user, password=command.password))
        else:
            self._on_auth(command)

    def _login(self, move: type[Command], credentials: Credentials) -> None:
        self._move(move)
        self._events.append(LoginRequested(credentials))

    def _on_stls(self) -> None:
        if self.tls_active:
            self._error(catalogue.already_tls())
        elif not self.config.tls_available:
            self._error(catalogue.tls_not_available())
        else:
            self._move(Stls)
            self._send(catalogue.ready_for_tls())
            self._input.clear()  # RFC 2595 §4: nothing pipelined behind STLS is kept
            self._events.append(TlsRequested())

    def _on_auth(self, command: Auth) -> None:
        if command.mechanism is None:
            self._send(catalogue.mechanisms(self.config.mechanisms))
            return
        if command.mechanism not in self.config.mechanisms:
            self._error(catalogue.unknown_mechanism(command.mechanism))
            return
        self._move(Auth)
        self._input.limit = self.config.sasl_line_limit
        self._sasl = sasl_mechanism(command.mechanism, self.config.hostname)
        self._sasl_step(self._sasl.start(command.initial_response))

    def _in_transaction(self, command: Command) -> None:
        maildrop = self._maildrop
        assert maildrop is not None
        if isinstance(command, Quit):
            self._move(Quit)
            self._events.append(UpdateRequested(maildrop.deleted_ids(), maildrop.read_ids()))
        elif isinstance(command, Retr | Top):
            self._on_retrieve(maildrop, command)
        elif isinstance(command, Capa):
            self._send(self._capabilities())
        else:
            answer = answer_in_transaction(maildrop, command)
            if answer.ok:
                self._send(answer)
            else:
                self._error(answer)

    def _on_retrieve(self, maildrop: Maildrop, command: Retr | Top) -> None:
        entry = maildrop.get(command.number)
        if entry is None:
            self._error(missing(maildrop, command.number))
            return
        self._top_lines = command.lines if isinstance(command, Top) else None
        self._retrieving = command.number
        # Paused until the message is sent: no further command is read meanwhile.
        self._move(Trigger.MESSAGE_REQUESTED)
        self._events.append(MessageRequested(command.number, entry.uid, self._top_lines))

    # --- SASL (RFC 5034) ---------------------------------------------------------------

    def _sasl_line(self, line: bytes) -> None:
        assert self._sasl is not None
        if line == CANCEL.encode():
            self._sasl_failed(catalogue.auth_cancelled())
        else:
            self._sasl_step(self._sasl.respond(line.decode("latin-1")))

    def _sasl_step(self, step: Challenge | Credentials | Failed) -> None:
        if isinstance(step, Challenge):
            self._out += continuation(step.text)
        elif isinstance(step, Credentials):
            self._end_sasl()
            self._move(Trigger.CREDENTIALS)
            self._events.append(LoginRequested(step))
        else:
            self._sasl_failed(catalogue.sasl_failed(f"{step.mechanism}: {step.problem.value}"))

    def _sasl_failed(self, response: Response) -> None:
        self._end_sasl()
        self._move(Trigger.EXCHANGE_FAILED)
        self._error(response)

    def _end_sasl(self) -> None:
        self._sasl = None
        self._input.limit = self.config.command_line_limit

    # --- plumbing ------------------------------------------------------------------------

    def _capabilities(self) -> Response:
        return capabilities(
            self.config,
            authorization=self._state is State.AUTHORIZATION,
            tls_active=self.tls_active,
            passwords_allowed=self.passwords_allowed,
        )

    def _move(self, move: Move) -> None:
        self._state = next_state(self._state, move)

    def _send(self, response: Response) -> None:
        self._out += response.to_bytes()

    def _error(self, response: Response) -> None:
        self.errors += 1
        self._send(response)
        self._events.append(CommandRefused(response))
        if self.errors >= self.config.max_errors and self._state is not State.CLOSED:
            self._close(catalogue.too_many_errors())

    def _after_answer(self) -> None:
        if self._shutting_down and self._state is not State.CLOSED:
            self._close(catalogue.shutting_down(self.config.hostname))

    def _close(self, response: Response, *, quit_: bool = False) -> None:
        self._move(Quit if quit_ else Trigger.CLOSE)
        self._send(response)
        self._events.append(Closing(response))

    def _close_quietly(self) -> None:
        """The client went away: nothing to say, and no UPDATE (RFC 1939 §6)."""
        self._move(Trigger.CLOSE)
        self._events.append(Closing(catalogue.client_gone()))

    def _check(self, state: State) -> None:
        if self._state is not state:
            raise LocalProtocolError(f"called in {self._state}, not {state}")
