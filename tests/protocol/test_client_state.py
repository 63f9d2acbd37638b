"""The client's transition table: its diagram says the same, and every missing move raises."""

from __future__ import annotations

import re
from collections import deque

import pytest

from postier.protocol.smtp import client_state
from postier.protocol.smtp.client_events import Awaited
from postier.protocol.smtp.client_state import (
    BACK,
    TRANSITIONS,
    Answer,
    Back,
    Call,
    ClientState,
    ClientStateMachine,
    Outcome,
    ReplyClass,
    Trigger,
)
from postier.protocol.smtp.errors import LocalProtocolError, RemoteProtocolError

Move = tuple[ClientState, Trigger, ClientState | Back]

EVERY_TRIGGER: list[Trigger] = [
    *Call,
    *Outcome,
    *(Answer(awaited, kind) for awaited in Awaited for kind in ReplyClass),
]
_EDGE = re.compile(r"\s+--(.+?)-->\s+")
_ANSWER = re.compile(r"(.+) ((?:[2-5]xx/)*[2-5]xx)")


def _triggers(label: str) -> list[Trigger]:
    """The triggers one arrow's label names: `call()`, `VERB 2xx/5xx`, or an outcome."""
    found: list[Trigger] = []
    for item in label.split(", "):
        answer = _ANSWER.fullmatch(item)
        if item.endswith("()"):
            found.append(Call[item[:-2].upper()])
        elif answer:
            awaited = Awaited(answer[1])
            found += [Answer(awaited, ReplyClass(int(k[0]))) for k in answer[2].split("/")]
        else:
            found.append(Outcome(item))
    return found


def _states(text: str) -> list[ClientState]:
    if text == "any":
        return [state for state in ClientState if state is not ClientState.CLOSED]
    return [ClientState[name] for name in text.split("/")]


def _drawn() -> list[Move]:
    """Every move the module docstring's diagram draws, in the order drawn."""
    doc = client_state.__doc__ or ""
    moves: list[Move] = []
    for line in doc.splitlines():
        if "-->" not in line:
            continue
        parts = _EDGE.split(line.strip())
        sources = _states(parts[0])
        for label, target_text in zip(parts[1::2], parts[2::2], strict=True):
            target: ClientState | Back = BACK if target_text == "back" else _states(target_text)[0]
            moves += [(s, t, target) for s in sources for t in _triggers(label)]
            sources = [] if target is BACK else [target]
    return moves


def test_the_diagram_draws_every_move_of_the_table_and_no_other() -> None:
    drawn = _drawn()
    assert len(drawn) == len(set(drawn)), "a move is drawn twice"
    table = {(state, trigger, target) for (state, trigger), target in TRANSITIONS.items()}
    assert set(drawn) - table == set(), "drawn but not in the table"
    assert table - set(drawn) == set(), "in the table but not drawn"


def _paths() -> dict[ClientState, list[Trigger]]:
    """A shortest list of moves from the start to each state the table can reach."""
    paths: dict[ClientState, list[Trigger]] = {ClientState.CONNECTED: []}
    queue = deque([ClientState.CONNECTED])
    while queue:
        state = queue.popleft()
        for (source, trigger), target in TRANSITIONS.items():
            if source is state and isinstance(target, ClientState) and target not in paths:
                paths[target] = [*paths[state], trigger]
                queue.append(target)
    return paths


def test_every_state_can_be_reached() -> None:
    assert set(_paths()) == set(ClientState)


def _machine_in(state: ClientState) -> tuple[ClientStateMachine, ClientState]:
    """A machine moved to `state`, and the state it was in just before."""
    machine = ClientStateMachine()
    previous = machine.state
    for trigger in _paths()[state]:
        previous = machine.state
        machine.move(trigger)
    assert machine.state is state
    return machine, previous


@pytest.mark.parametrize("state", list(ClientState), ids=lambda s: s.name)
def test_every_trigger_in_every_state_moves_as_the_table_says_or_raises(
    state: ClientState,
) -> None:
    for trigger in EVERY_TRIGGER:
        machine, previous = _machine_in(state)
        target = TRANSITIONS.get((state, trigger))
        if target is None:
            # A reply with no move is the server's fault; a call or a conclusion, ours.
            error = RemoteProtocolError if isinstance(trigger, Answer) else LocalProtocolError
            with pytest.raises(error):
                machine.move(trigger)
            assert machine.state is state, "a refused move changes nothing"
            continue
        expected = previous if target is BACK else target
        assert machine.move(trigger) is expected
        assert machine.state is expected


@pytest.mark.parametrize("start", [ClientState.GREETED, ClientState.READY], ids=lambda s: s.name)
@pytest.mark.parametrize(
    ("call", "awaited"),
    [(Call.RSET, Awaited.RSET), (Call.NOOP, Awaited.NOOP)],
    ids=["RSET", "NOOP"],
)
def test_rset_and_noop_go_back_where_they_were_sent_from(
    start: ClientState, call: Call, awaited: Awaited
) -> None:
    machine, _ = _machine_in(start)
    machine.move(call)
    for kind in (ReplyClass.COMPLETED, ReplyClass.PERMANENT):
        assert machine.move(Answer(awaited, kind)) is start
        machine.move(call)


def test_a_failed_transaction_resets_then_ends() -> None:
    machine, _ = _machine_in(ClientState.ENVELOPE)
    machine.move(Outcome.RESET_NEEDED)
    assert machine.move(Answer(Awaited.RSET, ReplyClass.COMPLETED)) is ClientState.ENVELOPE
    assert machine.move(Outcome.TRANSACTION_OVER) is ClientState.READY


def test_a_reply_that_does_not_fit_names_its_code_and_what_it_answered() -> None:
    machine, _ = _machine_in(ClientState.ENVELOPE)
    with pytest.raises(RemoteProtocolError) as caught:
        machine.move(Answer(Awaited.DATA, ReplyClass.COMPLETED, 250, "DATA"))
    assert caught.value.reply.text == "reply 250 does not fit DATA"
