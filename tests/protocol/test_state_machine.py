"""Every state against every command (in the manner of h2's test_state_machines).

In a command state, a command either takes the step `state.TRANSITIONS` lists or is
refused with a 4xx/5xx reply and leaves the state alone. Elsewhere commands are
message text (DATA, BDAT), a SASL response (AUTH), wait (DELIVERING, AUTH_CHECKING,
SENDER_CHECKING, RECIPIENT_CHECKING), or are ignored (TLS_PENDING, CLOSED).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp import (
    ACCEPT,
    LocalProtocolError,
    RemoteProtocolError,
    ServerConfig,
    ServerConnection,
)
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
    parse_command,
)
from postier.protocol.smtp.events import CommandRefused, DataChunk
from postier.protocol.smtp.events import ServerEvent as Event
from postier.protocol.smtp.state import COMMAND_STATES, TRANSITIONS, State
from tests.protocol.helpers import (
    AUTH_CONFIG,
    CONFIG,
    STORED_REPLY,
    TLS_CONFIG,
    check_replies,
    drain,
    examples,
    reply_of,
)

# One well-formed line per kind of command.
SAMPLES: dict[type[Command], bytes] = {
    Helo: b"HELO client.test",
    Ehlo: b"EHLO client.test",
    Mail: b"MAIL FROM:<a@b.test>",
    Rcpt: b"RCPT TO:<c@d.test>",
    Data: b"DATA",
    Rset: b"RSET",
    Noop: b"NOOP",
    Vrfy: b"VRFY someone",
    Help: b"HELP",
    Quit: b"QUIT",
    StartTls: b"STARTTLS",
    Auth: b"AUTH PLAIN",
    Bdat: b"BDAT 0",
}
RCPT_ROUTE = b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"

# How to reach each state from a fresh connection.
ROUTES: dict[State, bytes] = {
    State.CONNECTED: b"",
    State.READY: b"EHLO client.test\r\n",
    State.MAIL: b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n",
    State.RCPT: b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n",
    State.DATA: b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n",
    State.DELIVERING: (
        b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n.\r\n"
    ),
    State.TLS_PENDING: b"EHLO client.test\r\nSTARTTLS\r\n",
    State.CLOSED: b"QUIT\r\n",
    State.BDAT: RCPT_ROUTE + b"BDAT 1000\r\n",
    State.CHUNKING: RCPT_ROUTE + b"BDAT 3\r\nabc",
    State.AUTH: b"EHLO client.test\r\nAUTH LOGIN\r\n",
    State.AUTH_CHECKING: b"EHLO client.test\r\nAUTH PLAIN AGEAYg==\r\n",
    State.SENDER_CHECKING: b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n",
    State.RECIPIENT_CHECKING: RCPT_ROUTE,
}
DECIDING = frozenset({State.SENDER_CHECKING, State.RECIPIENT_CHECKING})
"""Reached only when the session decides about senders and recipients."""


def test_samples_and_routes_cover_everything() -> None:
    assert {type(parse_command(line)) for line in SAMPLES.values()} == set(SAMPLES)
    assert set(ROUTES) == set(State)
    assert {command for _, command in TRANSITIONS} == set(SAMPLES)
    assert {state for state, _ in TRANSITIONS} == set(COMMAND_STATES)
    for state, route in ROUTES.items():
        assert reach(route, state).state is state


def settled(expected: State, line: bytes) -> State:
    """Where a command that the table allows leaves the connection once it settles: a
    BDAT of no octets is read at once, an AUTH with its response is decoded at once."""
    command = parse_command(line)
    if isinstance(command, Bdat) and command.size == 0:
        return State.DELIVERING if command.last else State.CHUNKING
    if isinstance(command, Auth) and command.initial_response is not None:
        return State.AUTH_CHECKING
    return expected


def reach(route: bytes, state: State | None = None) -> ServerConnection:
    """A connection brought to `state` by `route`; the session decides about senders
    or recipients when `state` is where it does."""
    conn = ServerConnection(AUTH_CONFIG)
    conn.decides_senders = state is State.SENDER_CHECKING
    conn.decides_recipients = state is State.RECIPIENT_CHECKING
    conn.receive_data(route or b"NOOP\r\n")
    drain(conn)
    conn.data_to_send()
    return conn


@pytest.mark.parametrize("command", list(SAMPLES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_every_state_and_command(state: State, command: type[Command]) -> None:
    conn = reach(ROUTES[state], state)
    conn.receive_data(SAMPLES[command] + b"\r\n")
    events = drain(conn)
    out = conn.data_to_send()
    replies = check_replies(out)
    if state in COMMAND_STATES:
        assert len(replies) == 1
        code = replies[0][0]
        expected = TRANSITIONS.get((state, command))
        if expected is None:
            assert code >= 500, "out of sequence: a permanent refusal"
            assert conn.state is state
            assert len(events) == 1 and isinstance(events[0], CommandRefused)
        else:
            assert code < 400
            assert conn.state is settled(expected, SAMPLES[command])
    elif state is State.DATA:
        assert (out, conn.state) == (b"", State.DATA)
        assert events == [DataChunk(SAMPLES[command])]  # the CRLF may start the end mark
    elif state is State.BDAT:
        assert (out, conn.state) == (b"", State.BDAT)
        assert events == [DataChunk(SAMPLES[command] + b"\r\n")]  # octets, nothing more
    elif state is State.AUTH:
        # Taken as the SASL response: no command line decodes to a LOGIN username...
        # except those that happen to be base64, which then ask for the password.
        assert len(replies) == 1
        assert replies[0][0] in (334, 501)
        assert conn.state is (State.AUTH if replies[0][0] == 334 else State.READY)
    else:
        assert (out, events, conn.state) == (b"", [], state)


# --- random walks -------------------------------------------------------------------------------

LINES = [
    *SAMPLES.values(),
    b"MAIL FROM:<a@b.test> SIZE=99999999999",
    b"MAIL FROM:<> SMTPUTF8",
    b"RCPT TO:<postmaster>",
    b"RCPT TO:<bad>",
    b"STARTTLS x",
    b"EXPN x",
    b"FOO",
    b".",
    b"",
    b"\x00\xff",
    b"x" * 600,
    b"AUTH PLAIN AGEAYg==",
    b"AUTH LOGIN",
    b"YWxpY2U=",
    b"*",
    b"BDAT 5",
    b"BDAT 2 LAST",
    b"BDAT 0 LAST",
    b"MAIL FROM:<a@b.test> BODY=BINARYMIME",
]
ACTIONS = [
    "answer", "tls", "timeout", "shutdown", "force", "close", "accept", "reject",
    "sender-ok", "sender-no", "recipient-ok", "recipient-no", "recipient-bad",
]  # fmt: skip


@examples(300)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(LINES), st.sampled_from([b"\r\n", b"\n"])),
            st.sampled_from(ACTIONS),
        ),
        max_size=40,
    ),
    config=st.sampled_from([CONFIG, TLS_CONFIG, AUTH_CONFIG]),
    deciding=st.booleans(),
)
def test_random_walk(
    steps: list[tuple[bytes, bytes] | str], config: ServerConfig, deciding: bool
) -> None:
    conn = ServerConnection(config)
    conn.decides_senders = conn.decides_recipients = deciding
    drain(conn)
    check_replies(conn.data_to_send())
    for item in steps:
        before = conn.state
        if isinstance(item, str):
            act(conn, item)
        else:
            line, ending = item
            conn.receive_data(line + ending)
        events = drain(conn)
        replies = check_replies(conn.data_to_send())
        if isinstance(item, tuple) and before in COMMAND_STATES:
            check_step(conn, before, item[0], replies, events)


def act(conn: ServerConnection, action: str) -> None:
    """A session call; one the state does not allow must be refused as our own misuse."""
    allowed = {
        "answer": conn.state is State.DELIVERING,
        "tls": conn.state is State.TLS_PENDING,
        "accept": conn.state is State.AUTH_CHECKING,
        "reject": conn.state is State.AUTH_CHECKING,
        "timeout": conn.state not in (State.DELIVERING, State.AUTH_CHECKING, *DECIDING),
        "sender-ok": conn.state is State.SENDER_CHECKING,
        "sender-no": conn.state is State.SENDER_CHECKING,
        "recipient-ok": conn.state is State.RECIPIENT_CHECKING,
        "recipient-no": conn.state is State.RECIPIENT_CHECKING,
        "recipient-bad": False,  # a verdict is ACCEPT or a refusal, never a 250
    }.get(action, True)
    calls: dict[str, Callable[[], None]] = {
        "answer": lambda: conn.answer_message(STORED_REPLY),
        "tls": conn.tls_started,
        "timeout": conn.timed_out,
        "shutdown": conn.shutdown,
        "force": lambda: conn.shutdown(force=True),
        "close": lambda: conn.receive_data(b""),
        "accept": lambda: conn.answer_auth(True),
        "reject": lambda: conn.answer_auth(False),
        "sender-ok": lambda: conn.answer_sender(ACCEPT),
        "sender-no": lambda: conn.answer_sender(reply_of(b"451 4.7.1 later\r\n")),
        "recipient-ok": lambda: conn.answer_recipient(ACCEPT),
        "recipient-no": lambda: conn.answer_recipient(reply_of(b"550 5.1.1 no\r\n")),
        "recipient-bad": lambda: conn.answer_recipient(reply_of(b"250 2.1.5 ok\r\n")),
    }
    call = calls[action]
    if allowed:
        call()
    else:
        with pytest.raises(LocalProtocolError):
            call()


def check_step(
    conn: ServerConnection,
    before: State,
    line: bytes,
    replies: list[tuple[int, list[bytes]]],
    events: Sequence[Event],
) -> None:
    """One command line in a command state: its reply and its step agree with the table."""
    if conn.state is State.BDAT:
        # A BDAT, allowed or not, reads its octets first and is answered after them.
        assert line.upper().startswith(b"BDAT ") and replies == []
        return
    if conn.state is State.AUTH_CHECKING:
        # AUTH with its response: answered once the session has checked it.
        assert line.upper().startswith(b"AUTH ") and replies == []
        return
    if conn.state in DECIDING:
        # MAIL or RCPT past the core's checks: answered once the session decides.
        assert line.upper()[:5] in (b"MAIL ", b"RCPT ") and replies == []
        return
    assert len(replies) in (1, 2), replies  # the reply, maybe then 421 too many errors
    code = replies[0][0]
    try:
        command: Command | None = parse_command(line)
    except RemoteProtocolError:
        command = None
    expected = TRANSITIONS.get((before, type(command))) if command else None
    if code < 400:
        assert expected is not None
        assert conn.state is settled(expected, line) or conn.state is State.CLOSED
    else:
        assert isinstance(events[0], CommandRefused)
        assert conn.state is before or conn.state is State.CLOSED
    if len(replies) == 2:
        assert replies[1][0] == 421 and conn.state is State.CLOSED
