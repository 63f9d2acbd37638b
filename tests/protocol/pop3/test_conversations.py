"""Whole conversations with the core, in bytes both ways, fed whole, a byte at a time
and in random chunks: the same story every way."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.pop3 import (
    Closing,
    LoginRequested,
    Pop3Config,
    State,
    UpdateRequested,
    catalogue,
)
from tests.protocol.helpers import examples
from tests.protocol.pop3.drive import CONFIG, Driver, maildrop

GREETING = b"+OK pop.test POP3 postier ready\r\n"
SESSION = (
    b"USER you@exemple.fr\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\r\n"
    b"TOP 2 1\r\nDELE 3\r\nLIST 3\r\nRSET\r\nDELE 2\r\nQUIT\r\n"
)
SESSION_OUT = (
    b"+OK send PASS\r\n"
    b"+OK maildrop has 3 messages (80 octets)\r\n"
    b"+OK 3 80\r\n"
    b"+OK scan listing follows\r\n1 34\r\n2 28\r\n3 18\r\n.\r\n"
    b"+OK 2 uid-two\r\n"
    b"+OK 34 octets\r\nSubject: one\r\n\r\nfirst line\r\n..dot\r\n.\r\n"
    b"+OK top of message follows\r\nSubject: two\r\n\r\nbody\r\n.\r\n"
    b"+OK message 3 deleted\r\n"
    b"-ERR message already deleted\r\n"
    b"+OK maildrop has 3 messages (80 octets)\r\n"
    b"+OK message 2 deleted\r\n"
    b"+OK pop.test signing off (0 messages left)\r\n"
)


def story(chunks: list[bytes], config: Pop3Config = CONFIG) -> tuple[bytes, list[object]]:
    driver = Driver(config, tls=True)
    driver.feed(chunks)
    return bytes(driver.out), driver.events


def splits(data: bytes, sizes: list[int]) -> list[tuple[str, list[bytes]]]:
    chunks, start = [], 0
    for size in sizes or [len(data)]:
        if start >= len(data):
            break
        chunks.append(data[start : start + max(size, 1)])
        start += max(size, 1)
    if start < len(data):
        chunks.append(data[start:])
    return [
        ("whole", [data]),
        ("bytes", [data[i : i + 1] for i in range(len(data))]),
        ("chunks", chunks),
    ]


def test_a_whole_session_in_bytes() -> None:
    out, events = story([SESSION])
    assert out == GREETING + SESSION_OUT
    update = [e for e in events if isinstance(e, UpdateRequested)]
    assert update == [UpdateRequested(deleted=("uid-two",), read=("uid-one",))]


@examples(100)
@given(st.lists(st.integers(1, 30), max_size=20))
def test_the_same_story_however_the_bytes_are_cut(sizes: list[int]) -> None:
    for how, chunks in splits(SESSION, sizes):
        assert story(chunks) == story([SESSION]), how


def test_top_does_not_count_as_retrieved() -> None:
    _, events = story([b"USER a\r\nPASS b\r\nTOP 1 100\r\nQUIT\r\n"])
    assert events[-2] == UpdateRequested(deleted=(), read=())


def test_a_client_that_goes_away_deletes_nothing() -> None:
    driver = Driver(tls=True)
    driver.send(b"USER a\r\nPASS b\r\nDELE 1\r\nDELE 2\r\n")
    driver.conn.receive_data(b"")
    driver.run()
    assert driver.state is State.CLOSED
    assert not any(isinstance(e, UpdateRequested) for e in driver.events)
    assert isinstance(driver.events[-1], Closing)


def test_a_timeout_deletes_nothing() -> None:
    driver = Driver(tls=True)
    driver.send(b"USER a\r\nPASS b\r\nDELE 1\r\n")
    driver.conn.timed_out()
    driver.run()
    assert driver.state is State.CLOSED
    assert driver.out.endswith(catalogue.timed_out("pop.test").to_bytes())
    assert not any(isinstance(e, UpdateRequested) for e in driver.events)


def test_no_password_in_clear_unless_allowed() -> None:
    driver = Driver()  # no TLS, and auth_insecure off
    out = driver.send(b"CAPA\r\nUSER a\r\nAUTH PLAIN AGEAYg==\r\n")
    assert b"\r\nSTLS\r\n" in out and b"\r\nUSER\r\n" not in out and b"SASL" not in out
    assert out.count(catalogue.plaintext_refused().to_bytes()) == 2
    assert not any(isinstance(e, LoginRequested) for e in driver.events)


def test_stls_starts_over_and_keeps_nothing_pipelined_behind_it() -> None:
    driver = Driver(Pop3Config(hostname="pop.test", tls_available=True))
    out = driver.send(b"STLS\r\nUSER injected\r\nPASS x\r\n")
    assert out == b"+OK begin TLS negotiation\r\n"
    assert driver.state is State.AUTHORIZATION and driver.conn.tls_active
    out = driver.send(b"CAPA\r\nPASS x\r\n")
    assert b"STLS" not in out and b"\r\nUSER\r\n" in out
    assert out.endswith(b"-ERR USER first\r\n")


def test_auth_plain_with_an_initial_response() -> None:
    token = base64.b64encode(b"\0you@exemple.fr\0pw").decode()
    _, events = story([f"AUTH PLAIN {token}\r\n".encode()])
    login = events[0]
    assert isinstance(login, LoginRequested)
    assert (login.credentials.username, login.credentials.password) == ("you@exemple.fr", "pw")


def test_auth_login_with_continuations_and_a_cancel() -> None:
    user, password = base64.b64encode(b"a@b.c"), base64.b64encode(b"pw")
    out, events = story([b"AUTH LOGIN\r\n" + user + b"\r\n" + password + b"\r\n"])
    assert b"+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK maildrop" in out
    assert isinstance(events[0], LoginRequested)
    out, _ = story([b"AUTH LOGIN\r\n*\r\nNOOP\r\n"])
    assert out.endswith(b"-ERR authentication cancelled\r\n-ERR command not valid in the "
                        b"AUTHORIZATION state\r\n")  # fmt: skip


def test_a_bare_auth_lists_the_mechanisms_and_an_unknown_one_is_refused() -> None:
    out, _ = story([b"AUTH\r\nAUTH CRAM-MD5\r\n"])
    assert b"+OK SASL mechanisms follow\r\nPLAIN\r\nLOGIN\r\n.\r\n" in out
    assert out.endswith(b"-ERR mechanism CRAM-MD5 not offered\r\n")


def test_apop_only_where_offered_and_its_timestamp_in_the_greeting() -> None:
    config = Pop3Config(hostname="pop.test", apop=True, auth_insecure=True)
    driver = Driver(config)
    stamp = driver.conn.timestamp
    assert stamp is not None and driver.out.endswith(f" {stamp}\r\n".encode())
    digest = hashlib.md5((stamp + "pw").encode()).hexdigest()
    driver.send(f"APOP a@b.c {digest}\r\n".encode())
    login = driver.events[0]
    assert isinstance(login, LoginRequested)
    assert login.credentials.challenge == stamp and login.credentials.digest == digest


def test_failed_logins_are_counted_and_cut() -> None:
    driver = Driver(Pop3Config(hostname="pop.test", max_auth_failures=2), tls=True)
    driver.refuse = True
    out = driver.send(b"USER a\r\nPASS x\r\nUSER a\r\nPASS y\r\nUSER a\r\n")
    assert out.count(b"-ERR [AUTH] authentication failed\r\n") == 1
    assert out.endswith(catalogue.too_many_failures().to_bytes())
    assert driver.state is State.CLOSED


def test_a_long_line_is_refused_without_being_kept() -> None:
    driver = Driver(tls=True)
    out = driver.send(b"USER " + b"x" * 10_000)
    assert out == b"" and len(driver.conn._input.partial_line) <= 255
    out = driver.send(b"\r\nNOOP\r\n")
    assert (
        out
        == b"-ERR command line too long\r\n-ERR command not valid in the AUTHORIZATION state\r\n"
    )
    assert driver.send(b"U" * 253 + b"\r\n") == b"-ERR unknown command\r\n"
    assert driver.send(b"U" * 254 + b"\r\n") == b"-ERR command line too long\r\n"


def test_too_many_errors_close_the_connection() -> None:
    driver = Driver(Pop3Config(hostname="pop.test", max_errors=3))
    out = driver.send(b"X\r\nY\r\nZ\r\nNOOP\r\n")
    assert out.endswith(b"-ERR too many errors; closing\r\n")
    assert driver.state is State.CLOSED


def test_a_message_gone_from_the_store_is_an_error_and_the_session_goes_on() -> None:
    driver = Driver(tls=True)
    driver.send(b"USER a\r\nPASS b\r\n")
    maildrop = driver.conn.maildrop
    assert maildrop is not None
    maildrop.entries = (maildrop.entries[0].__class__("gone", 3), *maildrop.entries[1:])
    out = driver.send(b"RETR 1\r\nNOOP\r\n")
    assert out == b"-ERR [SYS/PERM] the message is no longer in the store\r\n+OK\r\n"


def test_shutdown_waits_for_the_message_under_way() -> None:
    driver = Driver(tls=True)
    driver.act = lambda event: None  # type: ignore[method-assign]
    driver.send(b"USER a\r\nPASS b\r\n")
    driver.conn.login_accepted(maildrop())
    driver.send(b"RETR 1\r\n")
    assert driver.state is State.MESSAGE
    driver.conn.shutdown()
    assert driver.state is State.MESSAGE
    writer = driver.conn.message_opened()
    writer.end()
    driver.conn.message_sent()
    assert driver.state is State.CLOSED


@pytest.mark.parametrize("state", [State.AUTHORIZATION, State.TRANSACTION])
def test_shutdown_closes_at_once_between_commands(state: State) -> None:
    driver = Driver(tls=True)
    if state is State.TRANSACTION:
        driver.send(b"USER a\r\nPASS b\r\n")
    driver.conn.shutdown()
    driver.run()
    assert driver.state is State.CLOSED
    assert driver.out.endswith(b"-ERR [SYS/TEMP] pop.test shutting down\r\n")


_PIECES = [
    b"USER a\r\n", b"PASS b\r\n", b"STAT\r\n", b"LIST\r\n", b"LIST 2\r\n", b"UIDL\r\n",
    b"RETR 1\r\n", b"TOP 2 0\r\n", b"DELE 1\r\n", b"RSET\r\n", b"NOOP\r\n", b"CAPA\r\n",
    b"AUTH PLAIN\r\n", b"AGEAYg==\r\n", b"*\r\n", b"STLS\r\n", b"QUIT\r\n", b"x" * 300,
    b"\n", b"\r\n",
]  # fmt: skip


@examples(200)
@given(
    st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=8)), max_size=25).map(b"".join),
    st.lists(st.integers(1, 20), max_size=10),
)
def test_any_input_tells_the_same_story_however_cut(data: bytes, sizes: list[int]) -> None:
    stories = [story(chunks) for _, chunks in splits(data, sizes) if chunks]
    for other in stories[1:]:
        assert other == stories[0]
    out = stories[0][0]
    for line in out.split(b"\r\n")[:-1]:
        assert len(line) + 2 <= 512
