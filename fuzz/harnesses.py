"""Fuzz harnesses for the sans-IO protocol core, one per role.

Each harness takes arbitrary bytes as what the peer sends, drives a connection the
way a session would, and raises `InvariantError` (or lets an unexpected exception
out) when an invariant breaks. Every input is fed three ways: whole, one byte at a
time, and in chunks whose sizes come from the input's own bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from postier.protocol import catalogue
from postier.protocol.auth import choose_mechanism, mechanism
from postier.protocol.client import ClientConnection
from postier.protocol.client_events import Closed, TlsReady
from postier.protocol.client_events import Event as ClientEvent
from postier.protocol.client_state import CALLS, IDLE, Call, ClientState
from postier.protocol.config import ServerConfig
from postier.protocol.envelope import Envelope, refusal
from postier.protocol.errors import RemoteProtocolError
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
from postier.protocol.server import NEED_DATA, PAUSED, ServerConnection
from postier.protocol.state import State

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
REPLY_LINE_LIMIT = 512
_REPLY_LINE = re.compile(rb"\d{3}[ -][^\r\n]*\r\n")
_COMMAND_LINE = re.compile(rb"[^\r\n]*\r\n")

# Small limits, so that short inputs reach the size, recipient and error paths.
FUZZ_CONFIG = ServerConfig(
    hostname="mx.fuzz",
    max_message_size=4096,
    max_recipients=4,
    max_errors=8,
    tls_available=True,
)
SERVER_CONFIGS = (FUZZ_CONFIG, ServerConfig())
# The stored verdicts a session may give a finished message, used in turn.
_VERDICTS = (
    catalogue.stored("FUZZ"),
    catalogue.delivery_failed(),
    Reply(554, ("5.6.0 rejected",), None),
)
_TRANSACTION_STATES = frozenset({State.MAIL, State.RCPT, State.DATA, State.DELIVERING})


class InvariantError(AssertionError):
    """An invariant of the protocol core broke for this input."""


def _check(condition: bool, why: str) -> None:
    if not condition:
        raise InvariantError(why)


# --- feeding ---------------------------------------------------------------------------


def chunked(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of 1 to 64 bytes, the sizes read from `data` itself, in turn."""
    start = 0
    index = 0
    while start < len(data):
        size = data[index % len(data)] % 64 + 1
        yield data[start : start + size]
        start += size
        index += 1


def splits(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """The three ways every input is fed: whole, byte at a time, chunked."""
    yield "whole", [data] if data else []
    yield "bytes", [data[i : i + 1] for i in range(len(data))]
    yield "chunks", list(chunked(data))


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
    _check(isinstance(conn.state, State), f"unknown state {conn.state!r}")
    _check(conn.in_transaction == (conn.state in _TRANSACTION_STATES), "in_transaction")
    _check(len(conn._recipients) <= config.max_recipients, "too many recipients held")
    _check(len(conn._line) <= config.extended_command_line_limit, "unbounded line buffer")
    _check(conn.errors <= config.max_errors, "errors past the limit")
    if conn.state in (State.CONNECTED, State.READY, State.CLOSED):
        _check(not conn._recipients and not conn._sender, f"envelope kept in {conn.state}")
    if conn.state is State.CONNECTED:
        _check(not conn.helo_name, "a HELO name before HELO")
    if conn.state in (State.RCPT, State.DATA):
        _check(bool(conn._recipients), f"no recipient in {conn.state}")
    _check((conn._decoder is not None) == (conn.state is State.DATA), "decoder vs DATA")


class _ServerRun:
    """One server connection driven by a session that stores every message at once."""

    def __init__(self, config: ServerConfig) -> None:
        self.conn = ServerConnection(config)
        self.closed = False
        self.in_data = False
        self.messages = 0
        self.data_size = 0

    def feed(self, chunk: bytes) -> None:
        self.conn.receive_data(chunk)
        self.drain()

    def drain(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            self.flush()
            check_server_state(conn)
            if event is NEED_DATA:
                return
            if event is PAUSED:
                raise InvariantError(f"PAUSED with nothing to answer in {conn.state}")
            assert isinstance(event, Event)
            _check(not self.closed, f"{event} after Closing")
            self.on_event(event)

    def on_event(self, event: Event) -> None:
        conn = self.conn
        if isinstance(event, DataStarted):
            _check(conn.state is State.DATA, "DataStarted outside DATA")
            self.in_data = True
            self.data_size = 0
        elif isinstance(event, DataChunk):
            _check(self.in_data, "DataChunk outside DATA")
            self.data_size += len(event.data)
            # Pieces may run one line past the limit before the decoder stops keeping them.
            limit = conn.config.max_message_size + conn.config.data_line_limit + 2
            _check(self.data_size <= limit, "message data past the size limit")
        elif isinstance(event, MessageComplete):
            _check(self.in_data and conn.state is State.DELIVERING, "MessageComplete")
            _check(bool(event.recipients), "a message without recipients")
            _check(event.size <= conn.config.max_message_size, "accepted past the size limit")
            self.in_data = False
            conn.answer_message(_VERDICTS[self.messages % len(_VERDICTS)])
            self.messages += 1
        elif isinstance(event, MessageRefused):
            _check(self.in_data, "MessageRefused outside DATA")
            self.in_data = False
        elif isinstance(event, StartTlsRequested):
            _check(conn.state is State.TLS_PENDING and not conn.tls_active, "StartTlsRequested")
            conn.tls_started()
            _check(conn.state is State.CONNECTED and conn.tls_active, "after tls_started()")
        elif isinstance(event, Closing):
            _check(conn.state is State.CLOSED, "Closing but not CLOSED")
            _check(event.reply.code in (221, 421, 554), f"closing with {event.reply.code}")
            self.closed = True
        elif isinstance(event, Greeted):
            _check(conn.state is State.READY or conn.state is State.CLOSED, "Greeted")
        elif isinstance(event, TransactionStarted | RecipientAccepted):
            _check(conn.in_transaction or conn.state is State.CLOSED, f"{event}")
        elif isinstance(event, CommandRefused):
            _check(400 <= event.reply.code < 600, f"refused with {event.reply.code}")

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            check_server_output(out, self.conn)


def run_server(chunks: list[bytes], config: ServerConfig = FUZZ_CONFIG) -> None:
    """Feed `chunks` as one client's bytes, then its close; no exception may escape."""
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


def server_input(data: bytes) -> None:
    """The server harness: `data` as a client's bytes, fed every way, with every config."""
    for config in SERVER_CONFIGS:
        for _, chunks in splits(data):
            run_server(chunks, config)


# --- the client role -------------------------------------------------------------------

HOSTNAME = "client.fuzz"
_ENVELOPES = (
    Envelope("a@b.c", ("x@y.z",), size=40),
    Envelope("", ("x@y.z", "postmaster"), size=40),
    Envelope("jörg@b.c", ("ü@y.z",), size=40, eight_bit=True),
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

    def _transaction(self, envelope: Envelope) -> Callable[[], bool]:
        def start() -> bool:
            if refusal(self.conn.capabilities, envelope) is not None:
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
}
