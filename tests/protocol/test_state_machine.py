"""Every state against every command (in the manner of h2's test_state_machines).

In a command state, a command either takes the step `state.TRANSITIONS` lists or is
refused with a 4xx/5xx reply and leaves the state alone. Elsewhere commands are
message text (DATA), wait (DELIVERING), or are ignored (TLS_PENDING, CLOSED).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol import LocalProtocolError, RemoteProtocolError, ServerConnection
from postier.protocol.commands import (
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
from postier.protocol.events import CommandRefused, DataChunk, Event
from postier.protocol.state import COMMAND_STATES, TRANSITIONS, State
from tests.protocol.helpers import CONFIG, STORED_REPLY, TLS_CONFIG, check_replies, drain, examples

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
}

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
}


def test_samples_and_routes_cover_everything() -> None:
    assert {type(parse_command(line)) for line in SAMPLES.values()} == set(SAMPLES)
    assert set(ROUTES) == set(State)
    assert {command for _, command in TRANSITIONS} == set(SAMPLES)
    assert {state for state, _ in TRANSITIONS} == set(COMMAND_STATES)
    for state, route in ROUTES.items():
        assert reach(route).state is state


def reach(route: bytes) -> ServerConnection:
    conn = ServerConnection(TLS_CONFIG)
    conn.receive_data(route or b"NOOP\r\n")
    drain(conn)
    conn.data_to_send()
    return conn


@pytest.mark.parametrize("command", list(SAMPLES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_every_state_and_command(state: State, command: type[Command]) -> None:
    conn = reach(ROUTES[state])
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
            assert conn.state is expected
    elif state is State.DATA:
        assert (out, conn.state) == (b"", State.DATA)
        assert events == [DataChunk(SAMPLES[command])]
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
]
ACTIONS = ["answer", "tls", "timeout", "shutdown", "force", "close"]


@examples(300)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(LINES), st.sampled_from([b"\r\n", b"\n"])),
            st.sampled_from(ACTIONS),
        ),
        max_size=40,
    ),
    tls=st.booleans(),
)
def test_random_walk(steps: list[tuple[bytes, bytes] | str], tls: bool) -> None:
    conn = ServerConnection(TLS_CONFIG if tls else CONFIG)
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
    }.get(action, True)
    calls: dict[str, Callable[[], None]] = {
        "answer": lambda: conn.answer_message(STORED_REPLY),
        "tls": conn.tls_started,
        "timeout": conn.timed_out,
        "shutdown": conn.shutdown,
        "force": lambda: conn.shutdown(force=True),
        "close": lambda: conn.receive_data(b""),
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
    assert len(replies) in (1, 2), replies  # the reply, maybe then 554 too many errors
    code = replies[0][0]
    try:
        command: Command | None = parse_command(line)
    except RemoteProtocolError:
        command = None
    expected = TRANSITIONS.get((before, type(command))) if command else None
    if code < 400:
        assert expected is not None
        assert conn.state is expected
    else:
        assert isinstance(events[0], CommandRefused)
        assert conn.state is before or conn.state is State.CLOSED
    if len(replies) == 2:
        assert replies[1][0] == 554 and conn.state is State.CLOSED
