"""Hypothesis over the client's state machine: any reply in any state, any body, any split."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postier.protocol.smtp.capabilities import Capabilities
from postier.protocol.smtp.client import ClientConnection
from postier.protocol.smtp.client_envelope import OutgoingEnvelope
from postier.protocol.smtp.client_events import ClientGreeted, DataReady, Greeting, TransactionDone
from postier.protocol.smtp.client_state import ClientState
from postier.protocol.smtp.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.smtp.sasl_client import Login, Plain
from tests.client.machine import HOSTNAME, Pair, feed

S = ClientState
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# States where a reply is awaited; in the others nothing is pending.
WAITING = {S.CONNECTED, S.HELLO, S.STARTTLS, S.AUTH, S.ENVELOPE, S.MESSAGE, S.RESET}
WAITING |= {S.NOOP, S.QUIT}

KEYWORDS = ["PIPELINING", "SIZE 100", "SIZE", "8BITMIME", "SMTPUTF8", "STARTTLS", "AUTH PLAIN"]
codes = st.one_of(
    st.sampled_from([220, 221, 235, 250, 334, 354, 421, 451, 452, 500, 502, 535, 550, 554]),
    st.integers(200, 599),
)
texts = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    code = draw(codes)
    lines = draw(st.lists(st.one_of(texts, st.sampled_from(KEYWORDS)), min_size=1, max_size=4))
    out = [f"{code}-{line}" for line in lines[:-1]] + [f"{code} {lines[-1]}"]
    return ("\r\n".join(out) + "\r\n").encode()


CALLS = ["ehlo", "starttls", "tls_started", "plain", "login", "envelope", "two"]
CALLS += ["send_data", "end_data", "rset", "noop", "quit"]
actions = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.sampled_from(CALLS)),
        st.tuples(st.just("reply"), replies()),
        st.tuples(st.just("close"), st.just(b"")),
    ),
    max_size=30,
)


def call(conn: ClientConnection, name: str) -> None:
    big = OutgoingEnvelope("a@b.c", ("x@y.z", "q@r.s"), size=1000)
    special = {
        "plain": lambda: conn.authenticate(Plain("u", "p")),
        "login": lambda: conn.authenticate(Login("u", "p")),
        "envelope": lambda: conn.send_envelope(OutgoingEnvelope("a@b.c", ("x@y.z",), size=10)),
        "two": lambda: conn.send_envelope(big),
        "send_data": lambda: conn.send_data(b".hi\r\n"),
    }
    (special.get(name) or getattr(conn, name))()


@EXAMPLES
@given(actions)
def test_any_reply_in_any_state_is_an_event_or_a_protocol_error(
    steps: list[tuple[str, object]],
) -> None:
    conn = ClientConnection(HOSTNAME)
    for kind, value in steps:
        before = conn.state
        if kind == "call":
            try:
                call(conn, str(value))
            except LocalProtocolError:
                # A call out of turn is refused and changes nothing.
                assert conn.state is before
                assert conn.data_to_send() == b""
        else:
            assert isinstance(value, bytes)
            try:
                feed(conn, value)
            except RemoteProtocolError:
                return
        conn.data_to_send()
        assert conn.awaiting_reply == (conn.state in WAITING), conn.state


message_bytes = st.lists(
    st.one_of(
        st.sampled_from([b".", b"..", b"..x", b"From me", b".\r", b"\r", b"\n", b"\r\n", b" "]),
        st.binary(max_size=20),
    ),
    max_size=30,
).map(b"".join)


@EXAMPLES
@given(message_bytes, st.integers(0, 7), st.booleans())
def test_any_message_reaches_postiers_server_intact(
    message: bytes, split: int, pipelining: bool
) -> None:
    pair = Pair(split=split)
    (greeting,) = pair.pump()
    assert isinstance(greeting, Greeting)
    pair.client.ehlo()
    (greeted,) = pair.pump()
    assert isinstance(greeted, ClientGreeted)
    if not pipelining:
        # postier's server always offers PIPELINING: forget it, to go one by one.
        offered = {k: v for k, v in greeted.capabilities.keywords.items() if k != "PIPELINING"}
        pair.client.capabilities = Capabilities(extended=True, keywords=offered)
    envelope = OutgoingEnvelope("a@b.c", ("x@y.z", "q@r.s"), eight_bit=not message.isascii())
    pair.client.send_envelope(envelope)
    (ready,) = pair.pump()
    assert isinstance(ready, DataReady)
    wire = b""
    for start in range(0, len(message), 7):
        wire += pair.client.send_data(message[start : start + 7])
    pair.client.end_data()
    writes = pair.client_writes
    (done,) = pair.pump(wire)
    assert isinstance(done, TransactionDone)
    assert pair.client_writes == writes + 1
    assert done.result.delivered
    # RFC 5321 §2.3.8: sent with CRLF line endings; the last line is ended for the mark.
    expected = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert pair.received == [expected]
