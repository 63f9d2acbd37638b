"""Drive a `ClientConnection` to any step of the dialogue, in memory, and collect its events."""

from __future__ import annotations

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.client import ClientConnection
from postier.protocol.smtp.client_envelope import OutgoingEnvelope
from postier.protocol.smtp.client_events import Awaited, ClientEvent
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.events import DataChunk, MessageComplete
from postier.protocol.smtp.sasl_client import Plain
from postier.protocol.smtp.server import NEED_DATA, PAUSED, SEND_FIRST, ServerConnection

HOSTNAME = "client.test"
GREETING = b"220 mx.test ESMTP ready\r\n"
# What a plain server offers: no PIPELINING, so the client goes one command at a time.
EHLO_PLAIN = b"250-mx.test\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
EHLO_FULL = (
    b"250-mx.test greets client.test\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 1000000\r\n"
    b"250-8BITMIME\r\n"
    b"250-SMTPUTF8\r\n"
    b"250-STARTTLS\r\n"
    b"250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
    b"250 ENHANCEDSTATUSCODES\r\n"
)
OK = b"250 2.0.0 ok\r\n"
ENVELOPE = OutgoingEnvelope("a@b.c", ("x@y.z",), size=10)
TWO = OutgoingEnvelope("a@b.c", ("x@y.z", "q@r.s"), size=10)


def feed(conn: ClientConnection, data: bytes) -> list[ClientEvent]:
    """Give the connection `data` and take every event it has then."""
    conn.receive_data(data)
    found: list[ClientEvent] = []
    while (event := conn.next_event()) is not NEED_DATA:
        assert isinstance(event, ClientEvent)
        found.append(event)
    return found


def greeted(ehlo: bytes = EHLO_PLAIN, *, transcript: bool = False) -> ClientConnection:
    conn = ClientConnection(HOSTNAME, transcript=transcript)
    feed(conn, GREETING)
    conn.ehlo()
    feed(conn, ehlo)
    conn.data_to_send()
    return conn


def at_step(step: Awaited) -> ClientConnection:
    """A connection whose next reply answers `step`, one command at a time (no PIPELINING)."""
    if step is Awaited.GREETING:
        return ClientConnection(HOSTNAME)
    if step in (Awaited.EHLO, Awaited.HELO):
        conn = ClientConnection(HOSTNAME)
        feed(conn, GREETING)
        conn.ehlo()
        if step is Awaited.HELO:
            feed(conn, b"502 5.5.1 EHLO not implemented\r\n")
        return conn
    if step is Awaited.STARTTLS:
        conn = greeted(EHLO_PLAIN.replace(b"250 ENH", b"250-STARTTLS\r\n250 ENH"))
        conn.starttls()
        return conn
    if step is Awaited.AUTH:
        conn = greeted(EHLO_PLAIN.replace(b"250 ENH", b"250-AUTH PLAIN\r\n250 ENH"))
        conn.authenticate(Plain("alice", "secret"))
        return conn
    conn = greeted()
    simple = {Awaited.RSET: conn.rset, Awaited.NOOP: conn.noop, Awaited.QUIT: conn.quit}
    if step in simple:
        simple[step]()
        return conn
    conn.send_envelope(ENVELOPE)
    for answered, reply in (
        (Awaited.MAIL, OK),
        (Awaited.RCPT, OK),
        (Awaited.DATA, b"354 go ahead\r\n"),
    ):
        if step is answered:
            return conn
        feed(conn, reply)
    conn.send_data(b"hello\r\n")
    conn.end_data()
    return conn


class Pair:
    """postier's own client and server connections wired together in memory.

    `pump()` carries bytes both ways until neither has anything to say, answers each
    complete message with 250, and keeps what the server received.
    """

    def __init__(self, config: ServerConfig | None = None, split: int = 0) -> None:
        self.client = ClientConnection(HOSTNAME)
        self.server = ServerConnection(config or ServerConfig(hostname="mx.test"))
        self.received: list[bytes] = []
        self.client_writes = 0
        self._data = bytearray()
        self._replies = bytearray()
        self._split = split

    def pump(self, wire: bytes = b"") -> list[ClientEvent]:
        """Carry bytes (first `wire`, the message data) until both sides are quiet."""
        events: list[ClientEvent] = []
        while True:
            out = wire + self.client.data_to_send()
            wire = b""
            if out:
                self.client_writes += 1
                self._to_server(out)
            replies = bytes(self._replies) + self.server.data_to_send()
            self._replies.clear()
            if not out and not replies:
                return events
            if replies:
                events += feed(self.client, replies)

    def _to_server(self, data: bytes) -> None:
        step = self._split or len(data)
        for start in range(0, len(data), step):
            self.server.receive_data(data[start : start + step])
            self._drain_server()

    def _drain_server(self) -> None:
        while True:
            event = self.server.next_event()
            if event is NEED_DATA or event is PAUSED:
                return
            if event is SEND_FIRST:
                self._replies += self.server.data_to_send()
                continue
            if isinstance(event, DataChunk):
                self._data += event.data
            elif isinstance(event, MessageComplete):
                self.received.append(bytes(self._data))
                self._data.clear()
                self.server.answer_message(catalogue.stored("TEST"))
