"""POP3 command lines: each parsed to its command and written back, and the refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.pop3.commands import (
    COMMANDS,
    Apop,
    Auth,
    Capa,
    Command,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    parse,
)
from postier.protocol.pop3.errors import RemoteProtocolError
from tests.protocol.helpers import examples

DIGEST = "c4c9334bac560ecc979e58001b3e22fb"
TABLE: list[tuple[bytes, Command]] = [
    (b"USER you@exemple.fr", User("you@exemple.fr")),
    (b"PASS secret", Pass("secret")),
    (b"PASS with two spaces", Pass("with two spaces")),
    (b"APOP mrose " + DIGEST.encode(), Apop("mrose", DIGEST)),
    (b"AUTH", Auth()),
    (b"AUTH PLAIN", Auth("PLAIN")),
    (b"AUTH PLAIN AGEAYg==", Auth("PLAIN", "AGEAYg==")),
    (b"AUTH PLAIN =", Auth("PLAIN", "=")),
    (b"STLS", Stls()),
    (b"CAPA", Capa()),
    (b"QUIT", Quit()),
    (b"STAT", Stat()),
    (b"NOOP", Noop()),
    (b"RSET", Rset()),
    (b"LIST", List()),
    (b"LIST 2", List(2)),
    (b"UIDL", Uidl()),
    (b"UIDL 10", Uidl(10)),
    (b"RETR 1", Retr(1)),
    (b"DELE 3", Dele(3)),
    (b"TOP 1 0", Top(1, 0)),
    (b"TOP 2 10", Top(2, 10)),
]


@pytest.mark.parametrize(("line", "command"), TABLE, ids=[t[0].decode() for t in TABLE])
def test_each_line_is_its_command_and_back(line: bytes, command: Command) -> None:
    assert parse(line) == command
    assert command.line() == line + b"\r\n"


def test_the_table_has_every_command() -> None:
    assert {type(command) for _, command in TABLE} == set(COMMANDS)


@pytest.mark.parametrize("line", [b"stat", b"Stat", b"retr 1", b"uIdL"])
def test_keywords_are_case_insensitive(line: bytes) -> None:
    assert parse(line).keyword == line.split()[0].decode().upper()


REFUSED = [
    (b"", "unknown command"),
    (b"HELO x", "unknown command"),
    (b"RETR", "syntax: RETR msg"),
    (b"RETR one", "syntax: RETR msg"),
    (b"RETR -1", "syntax: RETR msg"),
    (b"RETR 1 2", "syntax: RETR msg"),
    (b"RETR  1", "syntax: RETR msg"),
    (b"TOP 1", "syntax: TOP msg n"),
    (b"LIST 1 2", "syntax: LIST [msg]"),
    (b"STAT 1", "syntax: STAT"),
    (b"QUIT now", "syntax: QUIT"),
    (b"USER", "syntax: USER name"),
    (b"USER a b", "syntax: USER name"),
    (b"USER " + b"x" * 41, "syntax: USER name"),
    (b"PASS", "syntax: PASS password"),
    (b"APOP mrose nothex", "syntax: APOP name digest"),
    (b"AUTH A B C", "syntax: AUTH [mechanism [initial-response]]"),
    (b"RETR 1\x00", "invalid characters in command"),
    (b"RETR \xff", "invalid characters in command"),
]


@pytest.mark.parametrize(("line", "text"), REFUSED, ids=[repr(t[0]) for t in REFUSED])
def test_bad_lines_are_refused_with_their_reason(line: bytes, text: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse(line)
    assert not caught.value.response.ok
    assert caught.value.response.text == text


def test_an_initial_response_may_be_longer_than_an_argument() -> None:
    assert parse(b"AUTH PLAIN " + b"A" * 200) == Auth("PLAIN", "A" * 200)


def test_a_password_is_not_in_the_repr() -> None:
    assert "secret" not in repr(Pass("secret"))


@examples(200)
@given(st.binary(max_size=80))
def test_any_line_is_a_command_or_a_refusal(line: bytes) -> None:
    try:
        command = parse(line)
    except RemoteProtocolError as error:
        assert error.response.to_bytes().startswith(b"-ERR ")
    else:
        assert isinstance(command, Command)


@examples(200)
@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=0, max_value=10**6))
def test_numbers_round_trip(number: int, lines: int) -> None:
    for command in (Retr(number), Dele(number), List(number), Uidl(number), Top(number, lines)):
        assert parse(command.line()[:-2]) == command
