"""Drive a `ServerConnection` as a session would, and check what it says.

A conversation is a list of `Step`s: what the client sends (or what the session does),
then the exact reply bytes and the events that must come out. `play()` runs one with
the client's bytes split by any `Splitter`, so one table serves whole writes, one byte
at a time and random chunks alike.
"""

from __future__ import annotations

import hmac
import itertools
import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings

from postier.protocol.smtp import (
    NEED_DATA,
    PAUSED,
    SEND_FIRST,
    Reply,
    ServerConfig,
    ServerConnection,
)
from postier.protocol.smtp import Verdict as PolicyVerdict
from postier.protocol.smtp.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    MessageComplete,
    MessageRefused,
)
from postier.protocol.smtp.events import (
    ServerEvent as Event,
)
from postier.protocol.smtp.sasl_server import Credentials
from postier.protocol.smtp.state import State
from tests.protocol import wire

CONFIG = ServerConfig(hostname=wire.HOSTNAME)


def examples(count: int) -> settings:
    """Hypothesis settings for `count` examples, times POSTIER_FUZZ_SCALE (default 1).

    The suite stays quick by default; `POSTIER_FUZZ_SCALE=100` runs a long fuzzing
    session. No deadline: a slow machine must not fail a test.
    """
    scale = float(os.environ.get("POSTIER_FUZZ_SCALE", "1"))
    return settings(
        max_examples=max(1, int(count * scale)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


TLS_CONFIG = ServerConfig(hostname=wire.HOSTNAME, tls_available=True)
AUTH_CONFIG = ServerConfig(
    hostname=wire.HOSTNAME,
    tls_available=True,
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_insecure=True,
)
"""AUTH offered in clear, so that every AUTH path is reachable without a handshake."""

# --- replies and events written from their wire form --------------------------------

_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def reply_of(data: bytes) -> Reply:
    """The `Reply` that `data` (one whole reply) is the wire form of; a parser of our own."""
    lines = data.decode().split("\r\n")
    assert lines[-1] == "", f"a reply ends with CRLF: {data!r}"
    texts = [line[4:] for line in lines[:-1]]
    head = texts[0].split(" ", 1)[0]
    if _ENHANCED.fullmatch(head):
        prefix = head + " "
        assert all(t.startswith(prefix) for t in texts)
        return Reply(int(lines[0][:3]), tuple(t[len(prefix) :] for t in texts), head)
    return Reply(int(lines[0][:3]), tuple(texts))


def refused(data: bytes) -> CommandRefused:
    return CommandRefused(reply_of(data))


def closing(data: bytes) -> Closing:
    return Closing(reply_of(data))


def complete(
    size: int,
    *,
    sender: str = "a@b.test",
    recipients: tuple[str, ...] = ("c@d.test",),
    helo: str = wire.CLIENT,
    protocol: str = "ESMTP",
    smtputf8: bool = False,
    body: str | None = None,
    auth_user: str | None = None,
) -> MessageComplete:
    return MessageComplete(sender, recipients, size, helo, protocol, smtputf8, body, auth_user)


def message_refused(
    size: int,
    data: bytes,
    *,
    sender: str = "a@b.test",
    recipients: tuple[str, ...] = ("c@d.test",),
) -> MessageRefused:
    return MessageRefused(sender, recipients, size, reply_of(data))


STORED_REPLY = reply_of(wire.STORED)

# --- the script ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    """The session completed the TLS handshake that STARTTLS asked for."""


@dataclass(frozen=True)
class Answer:
    """The session stored (or failed to store) the message and answers it."""

    reply: Reply = STORED_REPLY


@dataclass(frozen=True)
class Verdict:
    """The session checked the credentials of an AUTH exchange."""

    accepted: bool


@dataclass(frozen=True)
class OnSender:
    """The session's verdict on the sender that `SenderOffered` carried."""

    verdict: PolicyVerdict


@dataclass(frozen=True)
class OnRecipient:
    """The session's verdict on the recipient that `RecipientOffered` carried."""

    verdict: PolicyVerdict


@dataclass(frozen=True)
class TimedOut:
    """The client missed its per-line deadline."""


@dataclass(frozen=True)
class Shutdown:
    """The server is stopping (`force`: its grace period ran out)."""

    force: bool = False


@dataclass(frozen=True)
class PeerClosed:
    """The client closed its side: `receive_data(b"")`."""


Action = bytes | Tls | Answer | Verdict | OnSender | OnRecipient | TimedOut | Shutdown | PeerClosed


@dataclass(frozen=True)
class Step:
    action: Action
    reply: bytes = b""
    events: tuple[Event, ...] = ()
    state: State | None = None


def step(action: Action, reply: bytes = b"", *events: Event, state: State | None = None) -> Step:
    return Step(action, reply, events, state)


@dataclass(frozen=True)
class Case:
    id: str
    steps: Sequence[Step]
    config: ServerConfig = CONFIG
    tls_active: bool = False
    deciding: bool = False
    """The session decides about each sender and recipient (a policy, chaos)."""
    notes: str = field(default="", compare=False)


Splitter = Callable[[bytes], list[bytes]]


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(seed: str, largest: int = 12) -> Splitter:
    """Split at random places, the same ones on every run for one seed."""
    rng = random.Random(seed)

    def split(data: bytes) -> list[bytes]:
        pieces = []
        pos = 0
        while pos < len(data):
            size = rng.randint(1, largest)
            pieces.append(data[pos : pos + size])
            pos += size
        return pieces

    return split


def at_points(points: Iterable[int]) -> Splitter:
    """Split at the given offsets (taken modulo the length); for Hypothesis."""
    chosen = sorted(set(points))

    def split(data: bytes) -> list[bytes]:
        cuts = sorted({p % len(data) for p in chosen} | {0, len(data)}) if data else [0]
        return [data[a:b] for a, b in itertools.pairwise(cuts) if b > a]

    return split


def play(case: Case, split: Splitter = whole) -> ServerConnection:
    """Run the conversation; every step's output and events must be exactly as written."""
    conn = ServerConnection(case.config, tls_active=case.tls_active)
    conn.decides_senders = conn.decides_recipients = case.deciding
    assert conn.data_to_send() == wire.GREETING
    assert conn.next_event() is NEED_DATA
    for number, expected in enumerate(case.steps):
        events = perform(conn, expected.action, split)
        out = conn.data_to_send()
        check_replies(out)
        assert (number, out) == (number, expected.reply)
        assert (number, events) == (number, list(expected.events))
        if expected.state is not None:
            assert (number, conn.state) == (number, expected.state)
    return conn


def perform(conn: ServerConnection, action: Action, split: Splitter) -> list[Event]:
    """Do one step of the script and collect the events it gives, data chunks joined."""
    events: list[Event] = []
    if isinstance(action, bytes) and action:
        for piece in split(action):
            conn.receive_data(piece)
            events += drain(conn)
        return merge_chunks(events)
    match action:
        case b"" | PeerClosed():
            conn.receive_data(b"")
        case Tls():
            conn.tls_started()
        case Answer(reply):
            conn.answer_message(reply)
        case Verdict(accepted):
            conn.answer_auth(accepted)
        case OnSender(verdict):
            conn.answer_sender(verdict)
        case OnRecipient(verdict):
            conn.answer_recipient(verdict)
        case TimedOut():
            conn.timed_out()
        case Shutdown(force):
            conn.shutdown(force=force)
    return merge_chunks(drain(conn))


def drain(conn: ServerConnection) -> list[Event]:
    """Every event available now, up to `NEED_DATA` or `PAUSED`."""
    events: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED:
            return events
        assert event is not SEND_FIRST, "replies past output_limit: use FakeSession"
        assert isinstance(event, Event)
        events.append(event)


def merge_chunks(events: Iterable[Event]) -> list[Event]:
    """Join consecutive `DataChunk`s: how the data is cut is not part of the protocol."""
    merged: list[Event] = []
    for event in events:
        if isinstance(event, DataChunk) and merged and isinstance(merged[-1], DataChunk):
            merged[-1] = DataChunk(merged[-1].data + event.data)
        else:
            merged.append(event)
    return merged


# --- the wire form of replies -------------------------------------------------------

_REPLY_LINE = re.compile(rb"([2-5]\d\d)([ -])([^\r\n]*)\r\n")


def check_replies(out: bytes) -> list[tuple[int, list[bytes]]]:
    """Split server output into replies, failing on anything that is not one.

    Every line is `ddd-text` or `ddd text` ending in CRLF (RFC 5321 §4.2.1); the lines
    of one reply share their code, and the output never stops inside a reply.
    """
    replies: list[tuple[int, list[bytes]]] = []
    lines: list[bytes] = []
    pos = 0
    while pos < len(out):
        match = _REPLY_LINE.match(out, pos)
        assert match, f"malformed reply line at {out[pos : pos + 80]!r}"
        code = int(match[1])
        assert not lines or code == replies[-1][0], f"mixed codes in one reply: {out!r}"
        if not lines:
            replies.append((code, lines))
        lines.append(match[3])
        if match[2] == b" ":
            lines = []
        pos = match.end()
    assert not lines, f"output stops inside a multi-line reply: {out!r}"
    return replies


class FakeSession:
    """What the real session does with a connection, without any I/O.

    Feeds bytes, takes every event, answers each message with `answer`, starts TLS at
    once when `start_tls` (as if the handshake always succeeded), and checks AUTH
    credentials against `passwords` (CRAM-MD5 digests too, from the clear password).
    """

    def __init__(
        self,
        config: ServerConfig = CONFIG,
        *,
        answer: Reply = STORED_REPLY,
        start_tls: bool = True,
        passwords: dict[str, str] | None = None,
    ) -> None:
        self.conn = ServerConnection(config)
        self.answer = answer
        self.start_tls = start_tls
        self.passwords = passwords or {}
        self.events: list[Event] = []
        self.messages: list[bytes] = []
        self.send_first_stops = 0
        """How often the connection stopped to have its replies sent first."""
        self._data = bytearray()
        self._sent = bytearray()

    def feed(self, data: bytes) -> bytes:
        """Send `data` from the client; return what the server says back."""
        self.conn.receive_data(data)
        self.run()
        out = bytes(self._sent) + self.conn.data_to_send()
        self._sent.clear()
        return out

    def check(self, credentials: Credentials) -> bool:
        password = self.passwords.get(credentials.username)
        if password is None:
            return False
        if credentials.challenge is not None:
            key = password.encode()
            expected = hmac.new(key, credentials.challenge.encode(), "md5").hexdigest()
            return hmac.compare_digest(expected, credentials.digest or "")
        return credentials.password == password

    def run(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                return
            if event is SEND_FIRST:
                self.send_first_stops += 1
                self._sent += conn.data_to_send()
                continue
            if event is PAUSED:
                if conn.state is State.DELIVERING:
                    conn.answer_message(self.answer)
                elif conn.state is State.TLS_PENDING and self.start_tls:
                    conn.tls_started()
                elif conn.state is State.AUTH_CHECKING:
                    credentials = next(
                        e.credentials
                        for e in reversed(self.events)
                        if isinstance(e, CredentialsReceived)
                    )
                    conn.answer_auth(self.check(credentials))
                else:
                    return
                continue
            assert isinstance(event, Event)
            self.events.append(event)
            if isinstance(event, DataChunk):
                self._data += event.data
            elif isinstance(event, MessageComplete | MessageRefused):
                self.messages.append(bytes(self._data))
                self._data.clear()
