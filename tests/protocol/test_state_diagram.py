"""state.py's docstring against its table: every move it lists is in `MOVES`, and back.

The docstring draws the state machine and lists its moves one a line; a move added to
the table without its line (or a line left after its move is gone) fails here.
"""

from __future__ import annotations

import re

import pytest

from postier.protocol.smtp import catalogue
from postier.protocol.smtp import state as state_module
from postier.protocol.smtp.capabilities import ehlo_keywords, parse_ehlo
from postier.protocol.smtp.commands import Command
from postier.protocol.smtp.errors import LocalProtocolError
from postier.protocol.smtp.state import (
    BACK,
    COMMAND_STATES,
    MOVES,
    TRANSITIONS,
    Move,
    State,
    Target,
    Trigger,
    next_state,
)

_ARROW = re.compile(r"\s{4}(\S+) --(.+?)--> (\S+)")


def _doc_parts() -> tuple[str, str]:
    doc = state_module.__doc__ or ""
    diagram, _, rest = doc.partition("The moves, one a line")
    listing = rest.split("\n\n", 1)[1].split("\n\n", 1)[0]
    return diagram, listing


def _move_named(name: str) -> Move:
    commands = {command.__name__.upper(): command for _, command in TRANSITIONS}
    triggers = {trigger.value: trigger for trigger in Trigger}
    found: dict[str, Move] = {**commands, **triggers}
    assert name in found, f"{name!r} names no command and no trigger"
    return found[name]


def _states(names: str) -> list[State]:
    out: list[State] = []
    for name in names.split("/"):
        out.extend(COMMAND_STATES if name == "*" else [State[name]])
    return out


def listed_moves() -> dict[tuple[State, Move], Target]:
    """The docstring's list of moves, as a table."""
    _, listing = _doc_parts()
    table: dict[tuple[State, Move], Target] = {}
    for line in listing.splitlines():
        match = _ARROW.fullmatch(line)
        assert match, f"not a move: {line!r}"
        sources, events, target = match.groups()
        for source in _states(sources):
            for event in events.split("/"):
                key = (source, _move_named(event))
                assert key not in table, f"{key} listed twice"
                table[key] = {"*": source, "BACK": BACK}.get(target) or State[target]
    return table


def test_every_listed_move_is_in_the_table_and_every_move_is_listed() -> None:
    listed = listed_moves()
    assert set(listed) == set(MOVES), "moves listed but not in the table, or the reverse"
    for key, target in MOVES.items():
        assert listed[key] is target, f"{key}: the docstring says {listed[key]}, not {target}"


def test_the_diagram_names_every_command_and_trigger() -> None:
    diagram, _ = _doc_parts()
    names = {command.__name__.upper() for _, command in TRANSITIONS}
    names |= {trigger.value for trigger in Trigger}
    missing = sorted(name for name in names if name not in diagram)
    assert not missing, f"the diagram never mentions {missing}"


def test_a_move_the_table_lacks_is_our_own_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        next_state(State.READY, Trigger.END_OF_DATA)
    with pytest.raises(LocalProtocolError):
        next_state(State.DELIVERING, Trigger.CLOSE)
    with pytest.raises(LocalProtocolError):
        next_state(State.BDAT, Trigger.CHUNK_REFUSED)  # nowhere to go back to
    command: type[Command] = next(command for _, command in TRANSITIONS)
    with pytest.raises(LocalProtocolError):
        next_state(State.DATA, command)


def test_a_refused_chunk_goes_back_where_it_was_refused() -> None:
    for origin in COMMAND_STATES:
        assert next_state(origin, Trigger.BDAT_REFUSED) is State.BDAT
        assert next_state(State.BDAT, Trigger.CHUNK_REFUSED, back=origin) is origin


def test_parse_ehlo_reads_back_the_keywords_we_send() -> None:
    keywords = ehlo_keywords(max_size=1000, starttls=True, auth_mechanisms=("PLAIN", "LOGIN"))
    offered = parse_ehlo(catalogue.ehlo("mx.test", "client.test", keywords))
    assert offered.pipelining and offered.size_limit == 1000
    assert offered.eight_bit_mime and offered.smtputf8 and offered.enhanced_status_codes
    assert offered.starttls and offered.auth_mechanisms == {"PLAIN", "LOGIN"}
    assert offered.has("CHUNKING") and offered.has("BINARYMIME")
    bare = parse_ehlo(
        catalogue.ehlo(
            "mx.test", "c", ehlo_keywords(max_size=1, starttls=False, auth_mechanisms=())
        )
    )
    assert not bare.starttls and not bare.auth_mechanisms
