"""The fuzz harness of the POP3 core (`postier.protocol.pop3`): what a client sends.

The input is fed whole, a byte at a time and chunked (`harnesses.splits`) to a
`Pop3Connection` driven the way a session drives it: a login is accepted when the user
name has an even length, a message whose ID is "gone" is unavailable, every other is
streamed through the core's writer, an update succeeds. Answers come only once
`next_event()` says `PAUSED`, so that the pause itself is checked. No exception may
escape. Checked: every line sent ends with CRLF and is at most 512 octets (RFC 2449
§4); `PAUSED` only with an answer owed and no input read meanwhile; the limits on
errors, failed logins and buffered lines; a maildrop only after a login; an UPDATE only
after QUIT in TRANSACTION, with deletions from the maildrop; nothing after `Closing`;
and the three ways of feeding tell the same story (up to STLS, past which input sent
with the command is dropped when fed whole).
"""

from __future__ import annotations

import re

from fuzz.feeding import check as _check
from fuzz.feeding import splits
from postier.protocol.pop3 import (
    NEED_DATA,
    PAUSED,
    SEND_FIRST,
    Closing,
    CommandRefused,
    DropEntry,
    LoginRequested,
    Maildrop,
    MessageRequested,
    Pop3Config,
    Pop3Connection,
    Pop3Event,
    State,
    TlsRequested,
    UpdateRequested,
    catalogue,
    wire_size,
)

MESSAGES = {
    "a": b"Subject: a\n\n.line\n..\n.\nend",
    "b": b"Subject: b\r\n\r\nbody\r\n",
    "gone": b"",
}
CONFIGS = (
    Pop3Config(
        hostname="pop.fuzz", auth_insecure=True, apop=True, tls_available=True,
        mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"), max_errors=8, max_auth_failures=3,
    ),
    Pop3Config(hostname="pop.fuzz", tls_available=True),
)  # fmt: skip
_STAMP = re.compile(rb"<[0-9]+\.[0-9]+@pop\.fuzz>")
"""APOP's timestamp is random: masked when the ways of feeding are compared."""
_CHALLENGE = re.compile(rb"^\+ [^\r\n]*", re.MULTILINE)
"""CRAM-MD5's challenge is random too."""
_PAUSED = frozenset({State.CHECKING, State.TLS_PENDING, State.MESSAGE, State.UPDATE})
_LOGGED_IN = frozenset({State.TRANSACTION, State.MESSAGE, State.UPDATE})


def maildrop() -> Maildrop:
    return Maildrop(tuple(DropEntry(uid, wire_size([data])) for uid, data in MESSAGES.items()))


class _Run:
    def __init__(self, config: Pop3Config) -> None:
        self.conn = Pop3Connection(config)
        self.out = bytearray(self.conn.data_to_send())
        self.pending: Pop3Event | None = None
        self.held = 0
        self.closed = False
        self.telling = True
        self.story: list[object] = []
        self.quit = False

    def feed(self, chunk: bytes) -> None:
        self.conn.receive_data(chunk)
        self.drain()

    def drain(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            self.out += conn.data_to_send()
            self.check()
            if event is NEED_DATA:
                _check(self.pending is None, f"NEED_DATA while {self.pending} waits")
                return
            if event is SEND_FIRST:
                continue
            if event is PAUSED:
                _check(self.pending is not None, f"PAUSED with nothing owed in {conn.state}")
                _check(conn.state in _PAUSED, f"PAUSED in {conn.state}")
                _check(sum(len(c) for c in conn._input.chunks) == self.held, "read while PAUSED")
                self.answer()
                continue
            assert not isinstance(event, type(NEED_DATA))
            _check(not self.closed, f"{event} after Closing")
            _check(self.pending is None, f"{event} while {self.pending} waits")
            self.on_event(event)

    def on_event(self, event: Pop3Event) -> None:
        conn = self.conn
        if self.telling:
            # APOP's timestamp is random: told without it.
            told = event.credentials.username if isinstance(event, LoginRequested) else event
            self.story.append(told)
        if isinstance(event, Closing):
            _check(conn.state is State.CLOSED, "Closing but not CLOSED")
            self.closed = True
        elif isinstance(event, TlsRequested):
            self.telling = False
            self.owe(event)
        elif isinstance(event, LoginRequested):
            _check(conn.state is State.CHECKING, "LoginRequested outside CHECKING")
            _check(bool(event.credentials.username), "a login without a user name")
            self.owe(event)
        elif isinstance(event, MessageRequested):
            _check(conn.state is State.MESSAGE, "MessageRequested outside MESSAGE")
            self.owe(event)
        elif isinstance(event, UpdateRequested):
            _check(conn.state is State.UPDATE and self.quit is False, "UpdateRequested")
            _check(set(event.deleted) <= set(MESSAGES), "deleted what the maildrop lacks")
            self.quit = True
            self.owe(event)
        else:
            assert isinstance(event, CommandRefused)
            _check(not event.response.ok, "a refusal with +OK")

    def owe(self, event: Pop3Event) -> None:
        self.pending = event
        self.held = sum(len(c) for c in self.conn._input.chunks)

    def answer(self) -> None:
        conn, event = self.conn, self.pending
        self.pending = None
        if isinstance(event, LoginRequested):
            if len(event.credentials.username) % 2 == 0:
                conn.login_accepted(maildrop())
            else:
                conn.login_refused(catalogue.bad_login())
        elif isinstance(event, TlsRequested):
            conn.tls_started()
        elif isinstance(event, MessageRequested):
            if event.uid == "gone":
                conn.message_unavailable(catalogue.message_gone())
            else:
                writer = conn.message_opened()
                data = MESSAGES[event.uid]
                body = b"".join(writer.feed(data[i : i + 3]) for i in range(0, len(data), 3))
                self.out += conn.data_to_send() + body + writer.end()
                conn.message_sent()
        elif isinstance(event, UpdateRequested):
            conn.update_done(catalogue.goodbye_updated("pop.fuzz", 0))

    def check(self) -> None:
        conn, config = self.conn, self.conn.config
        _check(conn.errors <= config.max_errors, "errors past the limit")
        _check(conn.errors < config.max_errors or conn.state is State.CLOSED, "errors, open")
        _check(conn.auth_failures <= config.max_auth_failures, "failures past the limit")
        _check(len(conn._input.partial_line) <= config.sasl_line_limit, "unbounded line")
        if conn.state in _LOGGED_IN:
            _check(conn.maildrop is not None, f"no maildrop in {conn.state}")
        if conn.state is State.AUTHORIZATION:
            _check(conn.maildrop is None, "a maildrop before the login")

    def finish(self) -> tuple[object, ...]:
        self.conn.receive_data(b"")
        self.drain()
        for line in bytes(self.out).split(b"\r\n")[:-1]:
            _check(b"\n" not in line and len(line) + 2 <= 512, f"bad line {line[:80]!r}")
        _check(self.out.endswith(b"\r\n"), "output not ending with CRLF")
        out = None
        if self.telling:
            out = _CHALLENGE.sub(b"+ <challenge>", _STAMP.sub(b"<stamp>", bytes(self.out)))
        return (tuple(self.story), out)


def run_pop3(chunks: list[bytes], config: Pop3Config) -> tuple[object, ...]:
    run = _Run(config)
    for chunk in chunks:
        if run.closed:
            break
        run.feed(chunk)
    return run.finish()


def pop3_input(data: bytes) -> None:
    """The harness: every config, every way of feeding, the same story."""
    for config in CONFIGS:
        stories = [(how, run_pop3(chunks, config)) for how, chunks in splits(data)]
        first_how, first = stories[0]
        for how, story in stories[1:]:
            _check(story == first, f"{how} tells another story than {first_how}")
