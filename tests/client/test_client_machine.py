"""The client's state machine in memory: every reply at every step, pipelining, AUTH, TLS."""

from __future__ import annotations

import base64

import pytest

from postier.protocol.smtp.capabilities import HELO_ONLY
from postier.protocol.smtp.client import ClientConnection
from postier.protocol.smtp.client_envelope import OutgoingEnvelope
from postier.protocol.smtp.client_events import (
    Authenticated,
    Awaited,
    ClientEvent,
    ClientGreeted,
    Closed,
    DataReady,
    Done,
    Greeting,
    Refused,
    TlsReady,
    TransactionDone,
)
from postier.protocol.smtp.client_state import ClientState
from postier.protocol.smtp.client_transcript import MASK, Party
from postier.protocol.smtp.errors import LocalProtocolError, RemoteProtocolError
from postier.protocol.smtp.sasl_client import CramMd5, Login, Plain
from tests.client.machine import (
    EHLO_FULL,
    EHLO_PLAIN,
    ENVELOPE,
    GREETING,
    HOSTNAME,
    OK,
    TWO,
    at_step,
    feed,
    greeted,
)

S = ClientState
# A code of every kind a server may send (RFC 5321 §4.2.2-§4.2.3, RFC 4954 §6, RFC 3207).
CODES = [
    *(211, 214, 220, 221, 235, 250, 251, 252),
    *(334, 354),
    *(421, 432, 450, 451, 452, 454, 455),
    *(500, 501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554, 555),
]
POSITIVE_CLASS = {step: {2} for step in Awaited} | {Awaited.DATA: {3}, Awaited.AUTH: {2, 3}}

# (event, state after, bytes the client sends by itself) for a positive reply ...
ACCEPTED: dict[Awaited, tuple[type[ClientEvent] | None, ClientState, bytes]] = {
    Awaited.GREETING: (Greeting, S.GREETED, b""),
    Awaited.EHLO: (ClientGreeted, S.READY, b""),
    Awaited.HELO: (ClientGreeted, S.READY, b""),
    Awaited.STARTTLS: (TlsReady, S.TLS_HANDSHAKE, b""),
    Awaited.AUTH: (Authenticated, S.READY, b""),
    Awaited.MAIL: (None, S.ENVELOPE, b"RCPT TO:<x@y.z>\r\n"),
    Awaited.RCPT: (None, S.ENVELOPE, b"DATA\r\n"),
    Awaited.DATA: (DataReady, S.DATA, b""),
    Awaited.MESSAGE: (TransactionDone, S.READY, b""),
    Awaited.RSET: (Done, S.READY, b""),
    Awaited.NOOP: (Done, S.READY, b""),
    Awaited.QUIT: (Closed, S.CLOSED, b""),
}
# ... and for a refusal (4xx or 5xx other than 421).
REFUSED: dict[Awaited, tuple[type[ClientEvent] | None, ClientState, bytes]] = {
    Awaited.GREETING: (Refused, S.REJECTED, b""),
    Awaited.EHLO: (None, S.HELLO, b"HELO client.test\r\n"),  # 5xx; 4xx is in the test
    Awaited.HELO: (Refused, S.GREETED, b""),
    Awaited.STARTTLS: (Refused, S.READY, b""),
    Awaited.AUTH: (Refused, S.READY, b""),
    Awaited.MAIL: (TransactionDone, S.READY, b""),
    Awaited.RCPT: (None, S.RESET, b"RSET\r\n"),
    Awaited.DATA: (None, S.RESET, b"RSET\r\n"),
    Awaited.MESSAGE: (TransactionDone, S.READY, b""),
    Awaited.RSET: (Done, S.READY, b""),
    Awaited.NOOP: (Done, S.READY, b""),
    Awaited.QUIT: (Closed, S.CLOSED, b""),
}


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("step", list(Awaited))
def test_every_reply_at_every_step(step: Awaited, code: int) -> None:
    conn = at_step(step)
    conn.data_to_send()
    data = f"{code} some text\r\n".encode()
    positive = code < 400
    if positive and code // 100 not in POSITIVE_CLASS[step]:
        # 354 to MAIL, 250 to DATA...: the server and the client no longer agree.
        with pytest.raises(RemoteProtocolError):
            feed(conn, data)
        return
    events = feed(conn, data)
    if code == 421:
        # RFC 5321 §3.8: 421 answers any command, and the connection is over.
        assert events == [Closed(step, events[0].reply)]  # type: ignore[attr-defined]
        assert conn.state is S.CLOSED
        return
    kind, state, sent = (ACCEPTED if positive else REFUSED)[step]
    if step is Awaited.AUTH and code // 100 == 3:
        # A challenge that is not base64: the exchange is cancelled (RFC 4954 §4).
        kind, state, sent = None, S.AUTH, b"*\r\n"
    if step is Awaited.EHLO and 400 <= code < 500:
        kind, state, sent = Refused, S.GREETED, b""
    assert [type(e) for e in events] == ([kind] if kind else [])
    assert conn.state is state
    assert conn.data_to_send() == sent


def test_the_greeting_must_come_before_any_command() -> None:
    conn = ClientConnection(HOSTNAME)
    with pytest.raises(LocalProtocolError):
        conn.ehlo()
    assert conn.state is S.CONNECTED
    assert conn.data_to_send() == b""


def test_ehlo_then_helo_when_the_server_does_not_know_ehlo() -> None:
    conn = at_step(Awaited.EHLO)
    assert conn.data_to_send() == b"EHLO client.test\r\n"
    assert feed(conn, b"500 5.5.1 what?\r\n") == []
    assert conn.data_to_send() == b"HELO client.test\r\n"
    (event,) = feed(conn, b"250 mx.test\r\n")
    assert isinstance(event, ClientGreeted)
    assert event.capabilities == HELO_ONLY
    assert not conn.capabilities.pipelining


def test_pipelining_sends_mail_rcpts_and_data_in_one_write() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(TWO)
    assert conn.data_to_send() == (
        b"MAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<q@r.s>\r\nDATA\r\n"
    )
    (event,) = feed(conn, OK + OK + OK + b"354 go\r\n")
    assert isinstance(event, DataReady)
    assert conn.data_to_send() == b""


def test_without_pipelining_each_command_waits_for_its_reply() -> None:
    conn = greeted(EHLO_PLAIN)
    conn.send_envelope(TWO)
    assert conn.data_to_send() == b"MAIL FROM:<a@b.c> SIZE=10\r\n"
    assert feed(conn, OK) == []
    assert conn.data_to_send() == b"RCPT TO:<x@y.z>\r\n"
    assert feed(conn, b"550 5.1.1 no such user\r\n") == []
    assert conn.data_to_send() == b"RCPT TO:<q@r.s>\r\n"
    assert feed(conn, OK) == []
    assert conn.data_to_send() == b"DATA\r\n"
    (ready,) = feed(conn, b"354 go\r\n")
    assert isinstance(ready, DataReady)
    assert conn.send_data(b"From me\n.\n..x\nhi") == b"From me\r\n..\r\n...x\r\nhi"
    conn.end_data()
    assert conn.data_to_send() == b"\r\n.\r\n"
    (done,) = feed(conn, b"250 2.0.0 queued\r\n")
    assert isinstance(done, TransactionDone)
    result = done.result
    assert result.delivered
    assert result.accepted == ("q@r.s",)
    assert dict(result.refused) == {"x@y.z": result.recipient_replies["x@y.z"]}
    assert result.refused["x@y.z"].enhanced == "5.1.1"
    assert result.failure is None


def test_354_with_every_recipient_refused_gets_a_lone_dot() -> None:
    # RFC 2920 §3.1: the client must look at DATA's reply too, and end the data at once.
    conn = greeted(EHLO_FULL)
    conn.send_envelope(TWO)
    conn.data_to_send()
    refused = b"550 5.1.1 no\r\n"
    assert feed(conn, OK + refused + refused + b"354 go\r\n") == []
    assert conn.data_to_send() == b".\r\n"
    (done,) = feed(conn, b"554 5.5.1 no valid recipients\r\n")
    assert isinstance(done, TransactionDone)
    assert not done.result.delivered
    assert done.result.message_reply is None
    assert done.result.failure is not None
    assert done.result.failure[:2] == (Awaited.RCPT, "RCPT TO:<x@y.z>")
    assert conn.state is S.READY


def test_a_refused_sender_in_a_group_needs_no_reset() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(ENVELOPE)
    conn.data_to_send()
    bad = b"503 5.5.1 need MAIL\r\n"
    (done,) = feed(conn, b"550 5.7.1 go away\r\n" + bad + bad)
    assert isinstance(done, TransactionDone)
    assert done.result.failure is not None
    assert done.result.failure[0] is Awaited.MAIL
    assert conn.data_to_send() == b""


def test_data_refused_after_an_accepted_sender_resets_the_transaction() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(ENVELOPE)
    conn.data_to_send()
    assert feed(conn, OK + OK + b"554 5.3.0 no\r\n") == []
    # RFC 5321 §4.1.1.5: the server still holds the sender; RSET clears it.
    assert conn.data_to_send() == b"RSET\r\n"
    (done,) = feed(conn, OK)
    assert isinstance(done, TransactionDone)
    assert done.result.failure is not None
    assert done.result.failure[:2] == (Awaited.DATA, "DATA")
    conn.send_envelope(ENVELOPE)  # ready for the next one


def test_recipients_over_the_limit_are_left_for_another_transaction() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(TWO)
    conn.data_to_send()
    feed(conn, OK + OK + b"452 4.5.3 too many recipients\r\n354 go\r\n")
    conn.send_data(b"hi\r\n")
    conn.end_data()
    (done,) = feed(conn, OK)
    assert isinstance(done, TransactionDone)
    assert done.result.delivered
    assert done.result.retry == ("q@r.s",)


def test_421_in_the_middle_of_a_group_ends_the_connection() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(TWO)
    conn.data_to_send()
    events = feed(conn, OK + b"421 4.3.2 shutting down\r\n")
    assert [type(e) for e in events] == [Closed]
    closed = events[0]
    assert isinstance(closed, Closed)
    assert closed.step is Awaited.RCPT
    assert closed.reply is not None
    assert closed.reply.code == 421
    assert feed(conn, OK) == []  # nothing after the end is read
    with pytest.raises(LocalProtocolError):
        conn.noop()


def test_an_unsolicited_421_closes_but_another_reply_is_an_error() -> None:
    conn = greeted()
    (event,) = feed(conn, b"421 4.4.2 idle too long\r\n")
    assert event == Closed(None, event.reply)  # type: ignore[attr-defined]
    with pytest.raises(RemoteProtocolError):
        feed(greeted(), b"250 surprise\r\n")


def test_the_server_hanging_up_is_an_event_and_a_cut_reply_an_error() -> None:
    conn = at_step(Awaited.MAIL)
    (event,) = feed(conn, b"")
    assert event == Closed(Awaited.MAIL, None)
    conn = at_step(Awaited.MAIL)
    conn.receive_data(b"250-partial")
    with pytest.raises(RemoteProtocolError):
        feed(conn, b"")


def test_starttls_reply_followed_by_injected_data_is_refused() -> None:
    # RFC 3207 §4.2: what came in clear after the 220 must not be trusted afterwards.
    conn = at_step(Awaited.STARTTLS)
    with pytest.raises(RemoteProtocolError):
        feed(conn, b"220 go ahead\r\n250 injected\r\n")


def test_after_starttls_everything_is_learnt_again() -> None:
    conn = greeted(EHLO_FULL)
    conn.starttls()
    (event,) = feed(conn, b"220 2.0.0 ready\r\n")
    assert isinstance(event, TlsReady)
    conn.tls_started()
    assert conn.tls_active
    assert conn.capabilities == HELO_ONLY
    assert conn.state is S.GREETED
    with pytest.raises(LocalProtocolError):
        conn.send_envelope(ENVELOPE)
    conn.ehlo()
    assert conn.data_to_send() == b"STARTTLS\r\nEHLO client.test\r\n"
    feed(conn, EHLO_FULL.replace(b"250-STARTTLS\r\n", b""))
    with pytest.raises(LocalProtocolError):
        conn.starttls()


def test_auth_plain_sends_the_credentials_with_the_command() -> None:
    conn = greeted(EHLO_FULL, transcript=True)
    conn.take_transcript()
    conn.authenticate(Plain("alice", "secret"))
    secret = base64.b64encode(b"\0alice\0secret")
    assert conn.data_to_send() == b"AUTH PLAIN " + secret + b"\r\n"
    (event,) = feed(conn, b"235 2.7.0 Authentication successful\r\n")
    assert isinstance(event, Authenticated)
    assert conn.authenticated
    shown = [line.text for line in conn.take_transcript() if line.party is Party.CLIENT]
    assert shown == [f"AUTH PLAIN {MASK}"]


def test_auth_login_answers_two_challenges_in_order() -> None:
    conn = greeted(EHLO_FULL, transcript=True)
    conn.authenticate(Login("alice", "secret"))
    assert conn.data_to_send() == b"AUTH LOGIN\r\n"
    feed(conn, b"334 VXNlcm5hbWU6\r\n")
    assert conn.data_to_send() == base64.b64encode(b"alice") + b"\r\n"
    feed(conn, b"334 UGFzc3dvcmQ6\r\n")
    assert conn.data_to_send() == base64.b64encode(b"secret") + b"\r\n"
    feed(conn, b"334 VGhpcmQ6\r\n")
    assert conn.data_to_send() == b"*\r\n"  # a third question has no answer: cancel
    (event,) = feed(conn, b"501 5.7.0 cancelled\r\n")
    assert isinstance(event, Refused)
    assert event.command == "AUTH LOGIN"
    transcript = "\n".join(line.text for line in conn.take_transcript())
    assert "YWxpY2U" not in transcript
    assert "c2VjcmV0" not in transcript


def test_auth_cram_md5_with_the_rfc_2195_example() -> None:
    # RFC 2195 §2: user tim, password tanstaaftanstaaf.
    conn = greeted(EHLO_FULL)
    conn.authenticate(CramMd5("tim", "tanstaaftanstaaf"))
    assert conn.data_to_send() == b"AUTH CRAM-MD5\r\n"
    challenge = base64.b64encode(b"<1896.697170952@postoffice.reston.mci.net>")
    feed(conn, b"334 " + challenge + b"\r\n")
    answer = base64.b64decode(conn.data_to_send())
    assert answer == b"tim b913a602c7eda7a495b4e6e7334d3890"


def test_a_challenge_that_is_not_base64_cancels_the_exchange() -> None:
    conn = greeted(EHLO_FULL)
    conn.authenticate(Login("alice", "secret"))
    conn.data_to_send()
    feed(conn, b"334 not base64!\r\n")
    assert conn.data_to_send() == b"*\r\n"


@pytest.mark.parametrize(
    ("call", "state_before"),
    [
        ("starttls", "no STARTTLS offered"),
        ("send_data", "no DATA yet"),
        ("end_data", "no DATA yet"),
        ("tls_started", "no STARTTLS yet"),
    ],
)
def test_calls_out_of_turn_raise_and_change_nothing(call: str, state_before: str) -> None:
    conn = greeted()
    before = conn.state
    with pytest.raises(LocalProtocolError):
        method = getattr(conn, call)
        method(b"x") if call == "send_data" else method()
    assert conn.state is before
    assert conn.data_to_send() == b""


def test_no_command_while_a_reply_is_awaited() -> None:
    conn = at_step(Awaited.MAIL)
    for call in (conn.noop, conn.rset, conn.quit, conn.ehlo):
        with pytest.raises(LocalProtocolError):
            call()


def test_an_envelope_the_server_said_it_would_refuse_is_never_sent() -> None:
    conn = greeted(EHLO_PLAIN)  # SIZE 1000000, no SMTPUTF8
    for envelope in (
        OutgoingEnvelope("a@b.c", ("x@y.z",), size=2_000_000),
        OutgoingEnvelope("a@b.c", ("josé@y.z",)),
    ):
        with pytest.raises(LocalProtocolError):
            conn.send_envelope(envelope)
    assert conn.state is S.READY
    assert conn.data_to_send() == b""


def test_mail_parameters_follow_the_message_and_the_offer() -> None:
    conn = greeted(EHLO_FULL)
    conn.send_envelope(OutgoingEnvelope("josé@b.c", ("x@y.z",), size=5, eight_bit=True))
    first = conn.data_to_send().split(b"\r\n")[0]
    assert first == "MAIL FROM:<josé@b.c> SIZE=5 BODY=8BITMIME SMTPUTF8".encode()


def test_the_transcript_shows_the_first_data_lines_then_a_note() -> None:
    conn = greeted(transcript=True)
    conn.send_envelope(ENVELOPE)
    feed(conn, OK + OK + b"354 go\r\n")
    conn.take_transcript()
    for i in range(300):
        conn.send_data(f"line {i}\n".encode())
    conn.end_data()
    shown = [line.text for line in conn.take_transcript()]
    assert shown[:2] == ["line 0", "line 1"]
    assert shown[99] == "line 99"
    assert shown[100:] == ["(200 more lines of message data not shown)", "."]


@pytest.mark.parametrize(
    "replies",
    [EHLO_FULL, OK + b"250-2.1.5 one\r\n250-2.1.5 two\r\n250 2.1.5 ok\r\n" + OK + b"354 go\r\n"],
    ids=["ehlo", "pipelined-group"],
)
def test_replies_split_at_every_byte_read_the_same(replies: bytes) -> None:
    expected = _events_of(replies, [len(replies)])
    assert expected
    for cut in range(1, len(replies)):
        assert _events_of(replies, [cut, len(replies)]) == expected
    assert _events_of(replies, list(range(1, len(replies) + 1))) == expected


def _events_of(replies: bytes, cuts: list[int]) -> list[ClientEvent]:
    """The events of `replies` given in pieces ending at `cuts`, to EHLO or to a group."""
    conn = ClientConnection(HOSTNAME)
    feed(conn, GREETING)
    conn.ehlo()
    if replies is not EHLO_FULL:
        feed(conn, EHLO_FULL)
        conn.send_envelope(TWO)
    events: list[ClientEvent] = []
    start = 0
    for end in cuts:
        events += feed(conn, replies[start:end])
        start = end
    return events
