"""Driving a POP3 core the way a session does, in memory, with answers given at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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
)

CONFIG = Pop3Config(hostname="pop.test", tls_available=True, max_errors=50)
MESSAGES = {
    "uid-one": b"Subject: one\n\nfirst line\n.dot\n",
    "uid-two": b"Subject: two\r\n\r\nbody\r\nmore\r\n",
    "uid-three": b"Subject: three\n\n",
}


def maildrop() -> Maildrop:
    from postier.protocol.pop3 import wire_size

    return Maildrop(tuple(DropEntry(uid, wire_size([data])) for uid, data in MESSAGES.items()))


@dataclass
class Driver:
    """A connection, and a session that accepts every login (unless told otherwise),
    finds every message, and finishes every update at once."""

    config: Pop3Config = CONFIG
    tls: bool = False
    refuse: bool = False
    conn: Pop3Connection = field(init=False)
    events: list[Pop3Event] = field(default_factory=list)
    out: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.conn = Pop3Connection(self.config, tls_active=self.tls)
        self.out += self.conn.data_to_send()

    def feed(self, chunks: Iterable[bytes]) -> bytes:
        start = len(self.out)
        for chunk in chunks:
            self.conn.receive_data(chunk)
            self.run()
        return bytes(self.out[start:])

    def send(self, data: bytes) -> bytes:
        return self.feed([data])

    def run(self) -> None:
        while True:
            event = self.conn.next_event()
            if event is SEND_FIRST:
                self.out += self.conn.data_to_send()
                continue
            if event is NEED_DATA or event is PAUSED:
                break
            assert not isinstance(event, type(NEED_DATA))
            self.events.append(event)
            self.act(event)
        self.out += self.conn.data_to_send()

    def act(self, event: Pop3Event) -> None:
        conn = self.conn
        if isinstance(event, LoginRequested):
            if self.refuse:
                conn.login_refused(catalogue.bad_login())
            else:
                conn.login_accepted(maildrop())
        elif isinstance(event, TlsRequested):
            self.out += conn.data_to_send()
            conn.tls_started()
        elif isinstance(event, MessageRequested):
            if event.uid not in MESSAGES:
                conn.message_unavailable(catalogue.message_gone())
                return
            writer = conn.message_opened()
            self.out += conn.data_to_send()
            self.out += writer.feed(MESSAGES[event.uid]) + writer.end()
            conn.message_sent()
        elif isinstance(event, UpdateRequested):
            conn.update_done(catalogue.goodbye_updated("pop.test", 0))
        else:
            assert isinstance(event, Closing | CommandRefused)

    @property
    def state(self) -> State:
        return self.conn.state


def in_state(state: State, config: Pop3Config = CONFIG) -> Driver:
    """A driver whose connection is in `state`, with its output so far taken."""
    steps = {
        State.AUTHORIZATION: b"",
        State.TRANSACTION: b"USER a@b.c\r\nPASS x\r\n",
        State.SASL: b"AUTH PLAIN\r\n",
    }
    driver = Driver(config, tls=True)
    if steps[state]:
        driver.send(steps[state])  # b"" would say the client closed
    assert driver.state is state
    driver.out.clear()
    driver.events.clear()
    return driver
