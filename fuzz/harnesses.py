"""Fuzz harnesses for the sans-IO protocol core, one per role.

Each harness takes arbitrary bytes as what the peer sends, drives a connection the
way a session would, and raises `InvariantError` (or lets an unexpected exception
out) when an invariant breaks. Every input is fed three ways: whole, one byte at a
time, and in chunks whose sizes come from the input's own bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from fuzz.feeding import InvariantError, splits
from fuzz.feeding import check as _check
from fuzz.pop3_harness import pop3_input
from postier.protocol.smtp import catalogue
from postier.protocol.smtp.chunking import Chunk as _Chunk
from postier.protocol.smtp.client import ClientConnection
from postier.protocol.smtp.client_envelope import OutgoingEnvelope, refusal_before_sending
from postier.protocol.smtp.client_events import ClientEvent, Closed, TlsReady
from postier.protocol.smtp.client_state import CALLS, IDLE, Call, ClientState
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.errors import RemoteProtocolError
from postier.protocol.smtp.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    DataStarted,
    MessageComplete,
    MessageRefused,
    RecipientAccepted,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.smtp.events import (
    HeloAccepted as Greeted,
)
from postier.protocol.smtp.events import (
    ServerEvent as Event,
)
from postier.protocol.smtp.replies import Reply
from postier.protocol.smtp.sasl_client import choose_mechanism, mechanism
from postier.protocol.smtp.sasl_names import MECHANISMS
from postier.protocol.smtp.server import NEED_DATA, PAUSED, SEND_FIRST, ServerConnection
from postier.protocol.smtp.state import State

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
REPLY_LINE_LIMIT = 512
_REPLY_LINE = re.compile(rb"\d{3}[ -][^\r\n]*\r\n")
_COMMAND_LINE = re.compile(rb"[^\r\n]*\r\n")
# CRAM-MD5 challenges are random: masked when runs are compared.
_CHALLENGE = re.compile(rb"^334 [^\r\n]*", re.MULTILINE)

# Small limits, so that short inputs reach the size, recipient and error paths.
FUZZ_CONFIG = ServerConfig(
    hostname="mx.fuzz",
    max_message_size=4096,
    max_recipients=4,
    max_errors=8,
    tls_available=True,
)
# AUTH offered in clear (all mechanisms, 3 failures allowed) and required for MAIL, with
# STARTTLS too: the AUTH states, 530, 421 after failures, and TLS forgetting the user.
AUTH_CONFIG = ServerConfig(
    hostname="mx.fuzz",
    max_message_size=4096,
    max_recipients=4,
    max_errors=8,
    tls_available=True,
    auth_mechanisms=MECHANISMS,
    auth_insecure=True,
    auth_required=True,
    max_auth_failures=3,
)
SERVER_CONFIGS = (FUZZ_CONFIG, ServerConfig(), AUTH_CONFIG)
# The stored verdicts a session may give a finished message, used in turn.
_VERDICTS = (
    catalogue.stored("FUZZ"),
    catalogue.delivery_failed(),
    Reply(554, ("5.6.0 rejected",), None),
)
_TRANSACTION_STATES = frozenset(
    {State.MAIL, State.RCPT, State.DATA, State.BDAT, State.CHUNKING, State.DELIVERING}
)
_PAUSED_STATES = frozenset({State.DELIVERING, State.TLS_PENDING, State.AUTH_CHECKING})
_ENVELOPE_STATES = frozenset({State.RCPT, State.DATA, State.CHUNKING, State.DELIVERING})

# Core bugs reported but not fixed yet (see fuzz/README.md): their checks are skipped
# unless POSTIER_FUZZ_STRICT=1, so that a long run looks for new ones.
STRICT = os.environ.get("POSTIER_FUZZ_STRICT") == "1"


# --- the server role -------------------------------------------------------------------


def check_server_output(out: bytes, conn: ServerConnection) -> None:
    """Every reply line is `code SP/- text CRLF`, at most 512 octets but the greeting echo."""
    echo = (
        f"250 {conn.config.hostname} greets ".encode(),
        f"250-{conn.config.hostname} greets ".encode(),
    )
    for line in out.splitlines(keepends=True):
        _check(_REPLY_LINE.fullmatch(line) is not None, f"malformed reply line {line!r}")
        _check(
            len(line) <= REPLY_LINE_LIMIT or line.startswith(echo),
            f"reply line of {len(line)} octets",
        )


def check_server_state(conn: ServerConnection) -> None:
    config = conn.config
    state = conn.state
    _check(isinstance(state, State), f"unknown state {state!r}")
    _check(conn.in_transaction == (state in _TRANSACTION_STATES), "in_transaction")
    _check(len(conn._transaction.recipients) <= config.max_recipients, "too many recipients held")
    _check(
        len(conn._input.partial_line) <= config.extended_command_line_limit, "unbounded line buffer"
    )
    _check(conn.errors <= config.max_errors, "errors past the limit")
    _check(conn.errors < config.max_errors or state is State.CLOSED, "too many errors, open")
    _check(conn.auth_failures <= config.max_auth_failures, "auth failures past the limit")
    _check(
        conn.auth_failures < config.max_auth_failures or state is State.CLOSED,
        "too many auth failures, open",
    )
    if state in (State.CONNECTED, State.READY, State.CLOSED):
        _check(
            not conn._transaction.recipients and not conn._transaction.sender,
            f"envelope kept in {state}",
        )
    if state is State.CONNECTED:
        _check(not conn.helo_name, "a HELO name before HELO")
    chunk = conn._chunk
    if state in _ENVELOPE_STATES or (state is State.BDAT and chunk.refusal is None):
        _check(bool(conn._transaction.recipients), f"no recipient in {state}")
    if state is State.BDAT:
        _check(0 < chunk.remaining <= chunk.size, "BDAT state without octets to read")
    _check((conn._decoder is not None) == (state is State.DATA), "decoder vs DATA")
    if state is State.AUTH or state is State.AUTH_CHECKING:
        _check(conn.extended and conn.authenticated_user is None, f"{state} unasked")
        _check(bool(config.auth_mechanisms), f"{state} without AUTH offered")
        _check(conn.tls_active or config.auth_insecure, f"{state} in clear")


def _pending_input(conn: ServerConnection) -> int:
    return sum(len(chunk) for chunk in conn._input.chunks)


class _RecordingChunk(_Chunk):
    """The core's BDAT chunk, noting every chunk announced: (size, last, refused)."""

    def __init__(self, log: list[tuple[int, bool, bool]]) -> None:
        super().__init__()
        self.log = log

    def start(self, size: int, *, last: bool, refusal: Reply | None, back_to: State) -> None:
        self.log.append((size, last, refusal is not None))
        super().start(size, last=last, refusal=refusal, back_to=back_to)


class _ServerRun:
    """One server connection driven by a session that answers what it must in turn.

    Answers (to a message, STARTTLS, credentials) are given only once `next_event()`
    says `PAUSED`, so that the pause itself is checked: it holds the input untouched.
    Credentials are accepted when the username has an even length.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.conn = ServerConnection(config)
        self.chunks: list[tuple[int, bool, bool]] = []
        self.conn._chunk = _RecordingChunk(self.chunks)
        self.closed = False
        self.in_data = False
        self.via_bdat = False
        self.first_chunk = 0
        self.messages = 0
        self.data_size = 0
        self.pending: Event | None = None
        self.held = 0
        self.user: str | None = None
        # What the session heard and the client read, to compare the ways of feeding;
        # up to STARTTLS, past which whole input is dropped but dripped input is not.
        self.story: list[object] = []
        self.replies = bytearray()
        self.message = bytearray()
        self.telling = True
        self.failures = 0

    def feed(self, chunk: bytes) -> None:
        self.conn.receive_data(chunk)
        self.drain()

    def drain(self) -> None:
        conn = self.conn
        while True:
            before = conn.state
            announced = len(self.chunks)
            event = conn.next_event()
            out = self.flush()
            if before is State.BDAT and conn.state is State.BDAT:
                # Still in the same chunk: its octets, refused or not, get no reply yet.
                _check(len(self.chunks) != announced or not out, "a reply amid BDAT octets")
            self.check()
            if not isinstance(event, Event) and conn.state in (State.READY, State.CONNECTED):
                self.abandoned()  # every event told, the transaction is over
            if event is NEED_DATA:
                _check(self.pending is None, f"NEED_DATA while {self.pending} waits")
                return
            if event is SEND_FIRST:
                _check(conn.state not in _PAUSED_STATES, f"SEND_FIRST in {conn.state}")
                continue  # flushed above
            if event is PAUSED:
                _check(self.pending is not None, f"PAUSED with nothing to answer in {conn.state}")
                _check(conn.state in _PAUSED_STATES, f"PAUSED in {conn.state}")
                _check(_pending_input(conn) == self.held, "input read while PAUSED")
                self.answer()
                continue
            assert isinstance(event, Event)
            _check(not self.closed, f"{event} after Closing")
            _check(self.pending is None, f"{event} while {self.pending} waits")
            self.tell(event)
            self.on_event(event)

    def tell(self, event: Event) -> None:
        """Note `event` in the story: messages by their whole data, credentials in full."""
        if not self.telling:
            return
        if isinstance(event, DataChunk):
            self.message += event.data
            return
        if isinstance(event, DataStarted):
            self.message.clear()
        elif isinstance(event, MessageComplete):
            self.story.append(bytes(self.message))
        elif isinstance(event, CredentialsReceived):
            cred = event.credentials
            self.story.append((cred.mechanism, cred.username, cred.password, cred.digest))
            return
        elif isinstance(event, StartTlsRequested):
            self.telling = False
        # The data of a refused message may depend on the pieces: it is not told.
        self.story.append(event)

    def check(self) -> None:
        conn = self.conn
        check_server_state(conn)
        _check(conn.authenticated_user == self.user, "authenticated_user without a verdict")
        _check(conn.auth_failures == self.failures, "auth_failures without a rejection")

    def abandoned(self) -> None:
        """The transaction is over: so is its message, which must have ended with an event."""
        if self.in_data:
            # Known: RSET, HELO or EHLO between BDAT chunks ends the message with no event.
            _check(self.via_bdat and not STRICT, "a message abandoned without an event")
            self.in_data = False

    def wait_for_answer(self, event: Event) -> None:
        self.pending = event
        self.held = _pending_input(self.conn)

    def answer(self) -> None:
        conn = self.conn
        event, self.pending = self.pending, None
        if isinstance(event, MessageComplete):
            conn.answer_message(_VERDICTS[self.messages % len(_VERDICTS)])
            self.messages += 1
        elif isinstance(event, StartTlsRequested):
            conn.tls_started()
            self.user = None
            _check(conn.state is State.CONNECTED and conn.tls_active, "after tls_started()")
            _check(conn.authenticated_user is None, "authenticated_user kept over TLS")
        elif isinstance(event, CredentialsReceived):
            username = event.credentials.username
            accepted = len(username) % 2 == 0
            conn.answer_auth(accepted)
            if accepted:
                self.user = username
                _check(conn.state is State.READY, f"{conn.state} after an accepted AUTH")
            else:
                self.failures += 1
                if self.failures >= conn.config.max_auth_failures:
                    _check(conn.state is State.CLOSED, "open after too many auth failures")
                    _check(conn._out.startswith(b"421 "), "auth failures closed without 421")
        self.check()

    def on_event(self, event: Event) -> None:
        conn = self.conn
        if isinstance(event, DataStarted | DataChunk | MessageComplete | MessageRefused):
            self.on_message_event(event)
        elif isinstance(event, StartTlsRequested):
            _check(conn.state is State.TLS_PENDING and not conn.tls_active, "StartTlsRequested")
            self.wait_for_answer(event)
        elif isinstance(event, CredentialsReceived):
            credentials = event.credentials
            _check(conn.state is State.AUTH_CHECKING, "CredentialsReceived outside AUTH")
            _check(credentials.mechanism in conn.config.auth_mechanisms, "unoffered mechanism")
            _check(bool(credentials.username), "credentials without a username")
            self.wait_for_answer(event)
        elif isinstance(event, Closing):
            _check(conn.state is State.CLOSED, "Closing but not CLOSED")
            _check(event.reply.code in (221, 421, 554), f"closing with {event.reply.code}")
            if self.failures >= conn.config.max_auth_failures:
                _check(event.reply.code == 421, "too many auth failures closed without 421")
            self.closed = True
            self.in_data = False
        elif isinstance(event, Greeted):
            _check(conn.state is State.READY or conn.state is State.CLOSED, "Greeted")
            self.abandoned()
        elif isinstance(event, TransactionStarted | RecipientAccepted):
            if isinstance(event, TransactionStarted):
                self.abandoned()
            _check(conn.in_transaction or conn.state is State.CLOSED, f"{event}")
        elif isinstance(event, CommandRefused):
            _check(400 <= event.reply.code < 600, f"refused with {event.reply.code}")

    def on_message_event(self, event: Event) -> None:
        conn = self.conn
        config = conn.config
        if isinstance(event, DataStarted):
            self.abandoned()
            self.via_bdat = conn.state is not State.DATA
            if self.via_bdat:
                _check(conn.state in (State.BDAT, State.CHUNKING, State.DELIVERING), "DataStarted")
                _check(bool(self.chunks) and not self.chunks[-1][2], "DataStarted, no BDAT")
                self.first_chunk = len(self.chunks) - 1
            self.in_data = True
            self.data_size = 0
        elif isinstance(event, DataChunk):
            _check(self.in_data, "DataChunk outside DATA")
            _check(bool(event.data), "an empty DataChunk")
            self.data_size += len(event.data)
            if self.via_bdat:
                _check(not self.chunks[-1][2], "DataChunk from a refused BDAT")
                _check(self.data_size <= self.announced(), "more data than BDAT announced")
                _check(self.data_size <= config.max_message_size, "BDAT data past the limit")
            else:
                # Pieces may run one line past the limit before the decoder stops keeping them.
                limit = config.max_message_size + config.data_line_limit + 2
                _check(self.data_size <= limit, "message data past the size limit")
        elif isinstance(event, MessageComplete):
            self.on_message_complete(event)
        elif isinstance(event, MessageRefused):
            _check(self.in_data, "MessageRefused outside DATA")
            if self.via_bdat:
                _check(event.size > config.max_message_size, "BDAT message refused in size")
            self.in_data = False

    def on_message_complete(self, event: MessageComplete) -> None:
        conn = self.conn
        config = conn.config
        _check(self.in_data and conn.state is State.DELIVERING, "MessageComplete")
        _check(bool(event.recipients), "a message without recipients")
        _check(event.size <= config.max_message_size, "accepted past the size limit")
        _check(event.auth_user == conn.authenticated_user == self.user, "auth_user")
        _check(not config.auth_required or self.user is not None, "a message without AUTH")
        _check(event.protocol.endswith("A") <= (self.user is not None), "protocol A, no AUTH")
        if conn.extended or STRICT:  # known: HELO after AUTH gives "SMTP"
            _check(self.user is None or event.protocol.endswith("A"), "AUTH, protocol not A")
        if self.via_bdat:
            _check(self.chunks[-1][1], "MessageComplete before BDAT LAST")
            # Known: a refused chunk amid a message counts in its size.
            if STRICT or not any(refused for *_, refused in self.chunks[self.first_chunk :]):
                _check(event.size == self.announced() == self.data_size, "BDAT message size")
        else:
            _check(event.body != "BINARYMIME", "BODY=BINARYMIME message taken by DATA")
        self.in_data = False
        self.wait_for_answer(event)

    def announced(self) -> int:
        """The octets of the accepted BDAT chunks of the message under way."""
        return sum(size for size, _, refused in self.chunks[self.first_chunk :] if not refused)

    def flush(self) -> bytes:
        out = self.conn.data_to_send()
        # Replies stop piling up at output_limit; the last one may pass it.
        _check(len(out) <= self.conn.config.output_limit + 4096, "replies piled up")
        if out:
            check_server_output(out, self.conn)
            if self.telling:
                self.replies += _CHALLENGE.sub(b"334 ?", out)
        return out


def run_server(chunks: list[bytes], config: ServerConfig = FUZZ_CONFIG) -> tuple[object, ...]:
    """Feed `chunks` as one client's bytes, then its close; no exception may escape.

    Returns the story of the run (events, whole messages, replies) up to STARTTLS.
    """
    run = _ServerRun(config)
    run.flush()
    for chunk in chunks:
        if run.closed:
            break
        run.feed(chunk)
    run.feed(b"")
    if run.closed:
        _check(run.conn.next_event() is NEED_DATA, "events after Closing")
        run.conn.receive_data(b"more")
        _check(run.conn.next_event() is NEED_DATA, "input read after Closing")
    return (*run.story, bytes(run.replies))


def server_input(data: bytes) -> None:
    """The server harness: `data` as a client's bytes, fed every way, with every config."""
    for config in SERVER_CONFIGS:
        stories = [(how, run_server(chunks, config)) for how, chunks in splits(data)]
        check_same_story(stories)


def check_same_story(stories: list[tuple[str, tuple[object, ...]]]) -> None:
    """However the input was split, the session hears and the client reads the same."""
    _, whole = stories[0]
    for how, story in stories[1:]:
        if story != whole:
            index = next(
                (i for i, (a, b) in enumerate(zip(whole, story, strict=False)) if a != b), None
            )
            at = "" if index is None else f": {whole[index]!r} vs {story[index]!r}"
            raise InvariantError(f"fed {how}, the run differs from whole{at}")


# --- the client role -------------------------------------------------------------------

HOSTNAME = "client.fuzz"
_ENVELOPES = (
    OutgoingEnvelope("a@b.c", ("x@y.z",), size=40),
    OutgoingEnvelope("", ("x@y.z", "postmaster"), size=40),
    OutgoingEnvelope("jörg@b.c", ("ü@y.z",), size=40, eight_bit=True),
)
_MESSAGE = b"Subject: fuzz\r\n\r\n.leading dot\r\n.\r\nbare\nlast line without end"
_MAX_GREETINGS = 4


class _ClientDriver:
    """A driver that goes through every step the server allows, then quits."""

    def __init__(self) -> None:
        self.conn = ClientConnection(HOSTNAME, transcript=True, transcript_data_lines=3)
        self.closed = False
        self.tried_tls = False
        self.tried_auth = False
        self.greetings = 0
        self.plan: list[Callable[[], bool]] = [
            self._transaction(_ENVELOPES[0]),
            self._simple(self.conn.noop),
            self._transaction(_ENVELOPES[1]),
            self._simple(self.conn.rset),
            self._transaction(_ENVELOPES[2]),
        ]

    def feed(self, chunk: bytes) -> None:
        self.conn.receive_data(chunk)
        self.drain()

    def drain(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            self.check()
            if event is NEED_DATA:
                if not self.act():
                    return
                continue
            assert isinstance(event, ClientEvent)
            _check(not self.closed, f"{event} after Closed")
            if isinstance(event, Closed):
                _check(conn.state is ClientState.CLOSED, "Closed but not CLOSED")
                self.closed = True
            elif isinstance(event, TlsReady):
                _check(conn.state is ClientState.TLS_HANDSHAKE, "TlsReady")
            self.act()

    def check(self) -> None:
        conn = self.conn
        out = conn.data_to_send()
        for line in out.splitlines(keepends=True):
            _check(_COMMAND_LINE.fullmatch(line) is not None, f"malformed command {line!r}")
        if conn.state in IDLE or conn.state is ClientState.CLOSED:
            _check(not conn.awaiting_reply, f"awaiting a reply in {conn.state}")
            _check(conn._transaction is None, f"transaction left in {conn.state}")
        conn.take_transcript()

    def _allowed(self, call: Call) -> bool:
        return (self.conn.state, call) in CALLS and not self.conn.awaiting_reply

    def act(self) -> bool:
        """Make the next call the state allows; False when there is none to make."""
        conn = self.conn
        state = conn.state
        if state is ClientState.TLS_HANDSHAKE:
            conn.tls_started()
            return True
        if state is ClientState.DATA:
            conn.data_to_send()
            conn.send_data(_MESSAGE)
            conn.end_data()
            return True
        if state is ClientState.REJECTED and self._allowed(Call.QUIT):
            conn.quit()
            return True
        if state is ClientState.GREETED and self._allowed(Call.EHLO):
            self.greetings += 1
            if self.greetings > _MAX_GREETINGS:
                conn.quit()
            else:
                conn.ehlo()
            return True
        if state is not ClientState.READY or conn.awaiting_reply:
            return False
        caps = conn.capabilities
        if caps.starttls and not conn.tls_active and not self.tried_tls:
            self.tried_tls = True
            conn.starttls()
            return True
        name = choose_mechanism(caps.auth_mechanisms, encrypted=conn.tls_active)
        if name is not None and not conn.authenticated and not self.tried_auth:
            self.tried_auth = True
            conn.authenticate(mechanism(name, "alice", "secret"))
            return True
        while self.plan:
            if self.plan.pop(0)():
                return True
        conn.quit()
        return True

    def _transaction(self, envelope: OutgoingEnvelope) -> Callable[[], bool]:
        def start() -> bool:
            if refusal_before_sending(self.conn.capabilities, envelope) is not None:
                return False
            self.conn.send_envelope(envelope)
            return True

        return start

    @staticmethod
    def _simple(call: Callable[[], None]) -> Callable[[], bool]:
        def start() -> bool:
            call()
            return True

        return start


def run_client(chunks: list[bytes]) -> None:
    """Feed `chunks` as one server's replies, then its close.

    Only `RemoteProtocolError` may escape: the server broke the protocol, and the
    connection is dropped. Anything else is a bug in the core.
    """
    driver = _ClientDriver()
    try:
        driver.drain()
        for chunk in chunks:
            if driver.closed:
                break
            driver.feed(chunk)
        driver.feed(b"")
    except RemoteProtocolError as exc:
        _check(500 <= exc.reply.code < 600, f"RemoteProtocolError with {exc.reply.code}")
        return
    _check(driver.closed, f"not closed after the server hung up ({driver.conn.state})")


def client_input(data: bytes) -> None:
    """The client harness: `data` as a server's replies, fed every way."""
    for _, chunks in splits(data):
        run_client(chunks)


HARNESSES: dict[str, Callable[[bytes], None]] = {
    "server": server_input,
    "client": client_input,
    "pop3": pop3_input,
}
