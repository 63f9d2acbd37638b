"""The session's verdicts on senders and recipients: given where none waits, or of the
wrong kind, they are our own misuse; a pipelined burst gets its replies in order
whatever the verdicts; with no one deciding, the core answers as it always did."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp import (
    ACCEPT,
    LocalProtocolError,
    MessageComplete,
    RecipientOffered,
    ServerConnection,
    catalogue,
)
from postier.protocol.smtp.events import SenderOffered
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.helpers import AUTH_CONFIG, CONFIG, check_replies, drain, examples, reply_of
from tests.protocol.test_state_machine import ROUTES, reach

NO_MAILBOX = reply_of(b"550 5.1.1 Error: no mailbox here for <x>\r\n")
CALLS: dict[str, Callable[[ServerConnection], None]] = {
    "sender-accept": lambda conn: conn.answer_sender(ACCEPT),
    "sender-refuse": lambda conn: conn.answer_sender(NO_MAILBOX),
    "recipient-accept": lambda conn: conn.answer_recipient(ACCEPT),
    "recipient-refuse": lambda conn: conn.answer_recipient(NO_MAILBOX),
}
WAITS_FOR = {
    "sender-accept": State.SENDER_CHECKING,
    "sender-refuse": State.SENDER_CHECKING,
    "recipient-accept": State.RECIPIENT_CHECKING,
    "recipient-refuse": State.RECIPIENT_CHECKING,
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_a_verdict_where_none_waits_is_our_own_misuse(state: State, call: str) -> None:
    conn = reach(ROUTES[state], state)
    assert conn.state is state
    if state is WAITS_FOR[call]:
        CALLS[call](conn)
        assert check_replies(conn.data_to_send())
        return
    with pytest.raises(LocalProtocolError):
        CALLS[call](conn)
    assert conn.state is state and conn.data_to_send() == b""


@pytest.mark.parametrize(
    "reply",
    [wire.sender_ok("a@b.test"), wire.START_DATA, b"221 2.0.0 bye\r\n", b"334 \r\n"],
    ids=["250", "354", "221", "334"],
)
def test_a_verdict_is_accept_or_a_refusal(reply: bytes) -> None:
    conn = reach(ROUTES[State.RECIPIENT_CHECKING], State.RECIPIENT_CHECKING)
    with pytest.raises(LocalProtocolError):
        conn.answer_recipient(reply_of(reply))
    conn = reach(ROUTES[State.SENDER_CHECKING], State.SENDER_CHECKING)
    with pytest.raises(LocalProtocolError):
        conn.answer_sender(reply_of(reply))
    assert conn.state is State.SENDER_CHECKING  # still waiting: the misuse changed nothing


def test_no_timeout_while_the_session_decides() -> None:
    for state in (State.SENDER_CHECKING, State.RECIPIENT_CHECKING):
        conn = reach(ROUTES[state], state)
        with pytest.raises(LocalProtocolError):
            conn.timed_out()


def test_an_auth_refusal_goes_with_a_login_refused() -> None:
    conn = reach(ROUTES[State.AUTH_CHECKING])
    chaos = catalogue.chaos(454, "authentication")
    with pytest.raises(LocalProtocolError):
        conn.answer_auth(True, refusal=chaos)
    with pytest.raises(LocalProtocolError):
        conn.answer_auth(False, refusal=catalogue.ok())
    conn.answer_auth(False, refusal=chaos)
    assert conn.data_to_send() == b"454 4.0.0 Error: chaos authentication error (--chaos)\r\n"
    assert conn.auth_failures == 1 and conn.state is State.READY


def test_with_no_one_deciding_the_core_answers_mail_and_rcpt_itself() -> None:
    conn = ServerConnection(AUTH_CONFIG)
    conn.receive_data(ROUTES[State.RCPT])
    events = drain(conn)
    assert not any(isinstance(e, SenderOffered | RecipientOffered) for e in events)
    assert conn.state is State.RCPT


@examples(200)
@given(
    verdicts=st.lists(st.booleans(), min_size=1, max_size=30),
    data=st.booleans(),
)
def test_a_pipelined_burst_is_answered_in_order_whatever_the_verdicts(
    verdicts: list[bool], data: bool
) -> None:
    conn = ServerConnection(CONFIG)
    conn.decides_recipients = True
    drain(conn)
    conn.data_to_send()
    recipients = [f"r{number}@d.test" for number in range(len(verdicts))]
    burst = b"EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
    burst += b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in recipients)
    conn.receive_data(burst + (b"DATA\r\n.\r\n" if data else b"NOOP\r\n"))
    events = drain(conn)
    for recipient, accepted in zip(recipients, verdicts, strict=True):
        assert conn.state is State.RECIPIENT_CHECKING
        assert events[-1] == RecipientOffered("a@b.test", recipient)
        conn.answer_recipient(ACCEPT if accepted else NO_MAILBOX)
        events = drain(conn)
    codes = [code for code, _ in check_replies(conn.data_to_send())]
    rcpt_codes = [250 if accepted else 550 for accepted in verdicts]
    taken = tuple(r for r, accepted in zip(recipients, verdicts, strict=True) if accepted)
    if not data:
        tail = [250]
    elif taken:
        tail = [354]
        assert isinstance(events[-1], MessageComplete) and events[-1].recipients == taken
    else:
        tail = [503, 500]  # DATA needs a recipient; its lone "." is then no command
    assert codes == [250, 250, *rcpt_codes, *tail]
