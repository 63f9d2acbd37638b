"""The server's conversations, fed whole, one byte at a time and in random chunks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp import ServerConnection
from tests.protocol import wire
from tests.protocol.conversations import ALL as BASE_CASES
from tests.protocol.conversations_extensions import EXTENSION_CASES
from tests.protocol.conversations_policy import POLICY_CASES
from tests.protocol.helpers import (
    Case,
    at_points,
    bytewise,
    check_replies,
    closing,
    drain,
    examples,
    play,
    random_chunks,
    reply_of,
    whole,
)

ALL = [*BASE_CASES, *EXTENSION_CASES, *POLICY_CASES]
CASES = [pytest.param(case, id=case.id) for case in ALL]


@pytest.mark.parametrize("case", CASES)
def test_whole_writes(case: Case) -> None:
    play(case, whole)


@pytest.mark.parametrize("case", CASES)
def test_one_byte_at_a_time(case: Case) -> None:
    play(case, bytewise)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", CASES)
def test_random_chunks(case: Case, seed: int) -> None:
    play(case, random_chunks(f"{case.id}/{seed}", largest=2 + 7 * seed))


@examples(150)
@given(case=st.sampled_from(ALL), points=st.lists(st.integers(min_value=0), max_size=12))
def test_any_split(case: Case, points: list[int]) -> None:
    play(case, at_points(points))


# --- what every conversation must respect ---------------------------------------------------

# The replies RFC 2034 §3 exempts (the greeting and the EHLO/HELO answers), and 354:
# RFC 3463 has classes 2, 4 and 5 only, so an intermediate reply has no enhanced code.
_EXEMPT = (wire.GREETING, wire.START_DATA, wire.START_DATA_BARE_LF)


def _outputs(case: Case) -> list[bytes]:
    return [wire.GREETING] + [s.reply for s in case.steps if s.reply]


@pytest.mark.parametrize("case", CASES)
def test_every_reply_carries_its_enhanced_code(case: Case) -> None:
    for out in _outputs(case):
        for code, lines in check_replies(out):
            first = lines[0]
            if first.startswith(wire.HOSTNAME.encode() + b" greets "):
                continue  # EHLO / HELO
            text = b"%d %s\r\n" % (code, first)
            if text in _EXEMPT or (code in (334, 354) and len(lines) == 1):
                continue
            for line in lines:
                status = line.split(b" ", 1)[0].split(b".")
                assert len(status) == 3, (case.id, line)
                assert all(part.isdigit() for part in status), (case.id, line)
                assert int(status[0]) == code // 100, (case.id, line)


def test_the_tables_cover_every_reply_code_of_the_issue() -> None:
    seen: set[tuple[int, bytes]] = set()
    for case in ALL:
        for out in _outputs(case):
            for code, lines in check_replies(out):
                seen.add((code, lines[0].split(b" ", 1)[0]))
    wanted = {
        (220, b"2.0.0"),
        (221, b"2.0.0"),
        (250, b"2.0.0"),
        (250, b"2.1.0"),
        (250, b"2.1.5"),
        (252, b"2.0.0"),
        (214, b"2.0.0"),
        (421, b"4.4.2"),
        (421, b"4.3.2"),
        (452, b"4.5.3"),
        (500, b"5.5.1"),
        (500, b"5.5.2"),
        (501, b"5.5.4"),
        (501, b"5.1.7"),
        (501, b"5.1.3"),
        (502, b"5.5.1"),
        (503, b"5.5.1"),
        (552, b"5.3.4"),
        (553, b"5.6.7"),
        (421, b"4.7.0"),
        (554, b"5.6.0"),
        (555, b"5.5.4"),
    }
    assert wanted <= seen, sorted(wanted - seen)


def test_refused_connection_gets_only_the_421() -> None:
    conn = ServerConnection(ALL[0].config)
    conn.refuse_connection(reply_of(wire.TOO_MANY_CONNECTIONS))
    assert conn.data_to_send() == wire.TOO_MANY_CONNECTIONS
    assert drain(conn) == [closing(wire.TOO_MANY_CONNECTIONS)]
    conn.receive_data(b"EHLO client.test\r\n")
    assert drain(conn) == []
    assert conn.data_to_send() == b""
