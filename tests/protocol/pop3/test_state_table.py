"""Every command in every state: its answer and where it leads, against the table.

A command the table lacks for a state is answered `-ERR` "not valid in the ... state" and
leaves the state as it was; the others do what RFC 1939 says. The docstring's list of
moves is checked against `MOVES` too, so the drawing cannot drift from the table.
"""

from __future__ import annotations

import re

import pytest

from postier.protocol.pop3 import State, catalogue
from postier.protocol.pop3 import state as state_module
from postier.protocol.pop3.commands import COMMANDS, Command, parse
from postier.protocol.pop3.errors import LocalProtocolError
from postier.protocol.pop3.state import MOVES, STEPS, TRANSITIONS, Move, Trigger, next_state
from tests.protocol.pop3.drive import MESSAGES, in_state

LINES = {
    "USER": b"USER a@b.c",
    "PASS": b"PASS secret",
    "APOP": b"APOP a@b.c c4c9334bac560ecc979e58001b3e22fb",
    "AUTH": b"AUTH PLAIN",
    "STLS": b"STLS",
    "CAPA": b"CAPA",
    "QUIT": b"QUIT",
    "STAT": b"STAT",
    "NOOP": b"NOOP",
    "RSET": b"RSET",
    "LIST": b"LIST",
    "UIDL": b"UIDL",
    "RETR": b"RETR 1",
    "DELE": b"DELE 1",
    "TOP": b"TOP 1 0",
}

EXPECTED: dict[tuple[State, str], tuple[bytes, State]] = {
    (State.AUTHORIZATION, "USER"): (b"+OK send PASS\r\n", State.AUTHORIZATION),
    (State.AUTHORIZATION, "PASS"): (b"-ERR USER first\r\n", State.AUTHORIZATION),
    (State.AUTHORIZATION, "APOP"): (b"-ERR APOP not offered\r\n", State.AUTHORIZATION),
    (State.AUTHORIZATION, "AUTH"): (b"+ \r\n", State.SASL),
    (State.AUTHORIZATION, "STLS"): (b"-ERR TLS already active\r\n", State.AUTHORIZATION),
    (State.AUTHORIZATION, "CAPA"): (b"+OK Capability list follows\r\n", State.AUTHORIZATION),
    (State.AUTHORIZATION, "QUIT"): (b"+OK pop.test POP3 server signing off\r\n", State.CLOSED),
    (State.TRANSACTION, "CAPA"): (b"+OK Capability list follows\r\n", State.TRANSACTION),
    (State.TRANSACTION, "STAT"): (b"+OK 3 80\r\n", State.TRANSACTION),
    (State.TRANSACTION, "NOOP"): (b"+OK\r\n", State.TRANSACTION),
    (State.TRANSACTION, "RSET"): (b"+OK maildrop has 3 messages (80 octets)\r\n", State.TRANSACTION),  # noqa: E501
    (State.TRANSACTION, "LIST"): (b"+OK scan listing follows\r\n", State.TRANSACTION),
    (State.TRANSACTION, "UIDL"): (b"+OK unique-id listing follows\r\n", State.TRANSACTION),
    (State.TRANSACTION, "RETR"): (b"+OK 34 octets\r\n", State.TRANSACTION),
    (State.TRANSACTION, "DELE"): (b"+OK message 1 deleted\r\n", State.TRANSACTION),
    (State.TRANSACTION, "TOP"): (b"+OK top of message follows\r\n", State.TRANSACTION),
    (State.TRANSACTION, "QUIT"): (b"+OK pop.test signing off (0 messages left)\r\n", State.CLOSED),
}  # fmt: skip
COMMAND_STATES = (State.AUTHORIZATION, State.TRANSACTION)


def test_the_sizes_are_the_wire_sizes_of_the_messages() -> None:
    assert [len(m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")) for m in MESSAGES.values()] == [
        34, 28, 18,
    ]  # fmt: skip


def test_every_command_is_in_the_table_of_lines() -> None:
    assert {parse(line).keyword for line in LINES.values()} == {c.keyword for c in COMMANDS}


@pytest.mark.parametrize("state", COMMAND_STATES, ids=lambda s: s.name)
@pytest.mark.parametrize("keyword", sorted(LINES))
def test_every_command_in_every_state(state: State, keyword: str) -> None:
    driver = in_state(state)
    out = driver.send(LINES[keyword] + b"\r\n")
    command = type(parse(LINES[keyword]))
    if (state, command) not in TRANSITIONS:
        assert (state, keyword) not in EXPECTED
        assert out == catalogue.not_in_state(state.name).to_bytes()
        assert driver.state is state
        return
    first, target = EXPECTED[(state, keyword)]
    assert out.startswith(first)
    assert driver.state is target


def test_the_expectations_are_exactly_the_table() -> None:
    keys = {(state, type(parse(LINES[keyword]))) for state, keyword in EXPECTED}
    assert keys == set(TRANSITIONS)


@pytest.mark.parametrize("keyword", sorted(LINES))
def test_in_sasl_every_command_is_a_response_and_fails_the_exchange(keyword: str) -> None:
    driver = in_state(State.SASL)
    out = driver.send(LINES[keyword] + b"\r\n")
    assert out.startswith(b"-ERR [AUTH] PLAIN: ")
    assert driver.state is State.AUTHORIZATION


def test_commands_wait_while_the_session_has_the_move() -> None:
    """Pipelined behind PASS, STAT is read only once the login is answered."""
    from tests.protocol.pop3.drive import Driver

    driver = Driver(tls=True)
    driver.act = lambda event: None  # type: ignore[method-assign]  # no answer yet
    out = driver.send(b"USER a@b.c\r\nPASS x\r\nSTAT\r\n")
    assert out == b"+OK send PASS\r\n"
    assert driver.state is State.CHECKING
    assert driver.conn.next_event() is not None and driver.conn.data_to_send() == b""


# --- the docstring's moves ---------------------------------------------------------------

_ARROW = re.compile(r"\s{4}(\S+) --(.+?)--> (\S+)")


def _move_named(name: str) -> Move:
    commands: dict[str, Move] = {command.keyword: command for _, command in TRANSITIONS}
    triggers: dict[str, Move] = {trigger.value: trigger for trigger in Trigger}
    found = {**commands, **triggers}
    assert name in found, f"{name!r} names no command and no trigger"
    return found[name]


def listed_moves() -> dict[tuple[State, Move], State]:
    doc = state_module.__doc__ or ""
    listing = doc.partition("The moves, one a line")[2].split("\n\n", 2)[1]
    table: dict[tuple[State, Move], State] = {}
    for line in listing.splitlines():
        match = _ARROW.fullmatch(line)
        assert match, f"not a move: {line!r}"
        for source in match[1].split("/"):
            for name in match[2].split("/"):
                table[(State[source], _move_named(name))] = State[match[3]]
    return table


def test_the_docstring_lists_every_move_and_no_other() -> None:
    assert listed_moves() == MOVES


def test_a_move_the_table_lacks_is_our_own_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        next_state(State.UPDATE, Trigger.CLOSE)
    with pytest.raises(LocalProtocolError):
        next_state(State.AUTHORIZATION, _command("STAT"))


def test_nothing_closes_a_connection_waiting_for_its_answer() -> None:
    for state in (State.CHECKING, State.UPDATE):
        assert (state, Trigger.CLOSE) not in STEPS


def _command(keyword: str) -> type[Command]:
    return type(parse(LINES[keyword]))
