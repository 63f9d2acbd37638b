"""The fuzz corpus replayed through both harnesses, and a short deterministic fuzz run.

This is the fuzzing that CI runs: every seed in `fuzz/corpus/` goes through the
server and the client harness, whole, one byte at a time and in chunks. The long,
coverage-guided runs are `fuzz/run.py` (see `fuzz/README.md`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.harnesses import (
    AUTH_CONFIG,
    FUZZ_CONFIG,
    HARNESSES,
    SERVER_CONFIGS,
    check_same_story,
    client_input,
    run_server,
    splits,
)
from fuzz.pop3_harness import pop3_input
from fuzz.seeds import CLIENT, POP3, SERVER, SERVER_AUTH, SERVER_BDAT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postier.protocol.smtp import SEND_FIRST, ServerConnection
from postier.protocol.smtp.state import State

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"
FILES = sorted(path for path in CORPUS.glob("*/*") if path.is_file())
SPLITS = ("whole", "bytes", "chunks")


def test_the_corpus_is_there() -> None:
    roles = (("server", SERVER | SERVER_AUTH | SERVER_BDAT), ("client", CLIENT), ("pop3", POP3))
    for role, seeds in roles:
        names = {path.name for path in FILES if path.parent.name == role}
        assert names >= set(seeds), f"run fuzz/seeds.py: {set(seeds) - names} missing"


@pytest.mark.parametrize("role", sorted(HARNESSES))
@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_corpus_file(path: Path, role: str) -> None:
    HARNESSES[role](path.read_bytes())


def test_the_server_harness_runs_the_auth_config() -> None:
    assert AUTH_CONFIG in SERVER_CONFIGS
    assert AUTH_CONFIG.auth_mechanisms == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert AUTH_CONFIG.auth_insecure and AUTH_CONFIG.max_auth_failures == 3


def test_the_new_seeds_reach_the_new_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AUTH and BDAT seeds get where they are meant to, SEND_FIRST included."""
    seen: set[object] = set()
    next_event = ServerConnection.next_event

    def spy(conn: ServerConnection) -> object:
        seen.add(conn.state)
        event = next_event(conn)
        seen.add(conn.state)
        seen.add(event if event is SEND_FIRST else type(event).__name__)
        return event

    monkeypatch.setattr(ServerConnection, "next_event", spy)
    for seeds, config in ((SERVER_AUTH, AUTH_CONFIG), (SERVER_BDAT, FUZZ_CONFIG)):
        for data in seeds.values():
            run_server([data[i : i + 1] for i in range(len(data))], config)
    run_server([SERVER_BDAT["help-burst"]], FUZZ_CONFIG)  # whole, to pile replies up
    for state in (State.AUTH, State.AUTH_CHECKING, State.BDAT, State.CHUNKING):
        assert state in seen
    for name in ("CredentialsReceived", "DataChunk", "MessageComplete", "MessageRefused"):
        assert name in seen
    assert SEND_FIRST in seen


def test_the_splits_cover_the_input() -> None:
    data = b"EHLO c\r\nQUIT\r\n\xff\x00"
    for how, chunks in splits(data):
        assert b"".join(chunks) == data, how
        assert all(chunks), how
    assert [len(chunk) for _, chunks in splits(data) for chunk in chunks][1:15] == [1] * 14


# Pieces of real dialogue, so that short random inputs reach past the greeting.
_COMMANDS = [
    b"EHLO c\r\n",
    b"HELO c\n",
    b"MAIL FROM:<a@b.c>\r\n",
    b"MAIL FROM:<a@b.c> SIZE=9999999 SMTPUTF8\r\n",
    b"RCPT TO:<x@y.z>\r\n",
    b"RCPT TO:<q@y.z>\r\n",
    b"DATA\r\n",
    b"line\r\n",
    b".\r\n",
    b"\n.\n",
    b"\r\n.\r\n",
    b"STARTTLS\r\n",
    b"RSET\r\n",
    b"QUIT\r\n",
    b"x" * 600,
    b"AUTH PLAIN AGFsAHB3\r\n",
    b"AUTH LOGIN\r\n",
    b"YWxp\r\n",
    b"*\r\n",
    b"BDAT 3\r\n",
    b"BDAT 2 LAST\r\n",
    b"BDAT 0 LAST\r\n",
    b"MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n",
]
_REPLIES = [
    b"220 mx\r\n",
    b"250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
    b"250 2.0.0 ok\r\n",
    b"354 go\r\n",
    b"334 \r\n",
    b"334 VXNlcm5hbWU6\r\n",
    b"235 ok\r\n",
    b"421 bye\r\n",
    b"550 5.1.1 no\r\n",
    b"502 no\r\n",
    b"221 bye\r\n",
    b"250-",
]
_QUICK = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)


def _dialogue(pieces: list[bytes]) -> st.SearchStrategy[bytes]:
    piece = st.one_of(st.sampled_from(pieces), st.binary(max_size=8))
    return st.lists(piece, max_size=20).map(b"".join)


@_QUICK
@given(_dialogue(_COMMANDS))
def test_server_role_fuzz(data: bytes) -> None:
    for config in SERVER_CONFIGS:
        check_same_story([(how, run_server(chunks, config)) for how, chunks in splits(data)])


@_QUICK
@given(_dialogue(_REPLIES))
def test_client_role_fuzz(data: bytes) -> None:
    client_input(data)


_POP3_COMMANDS = [
    b"USER ab\r\n", b"PASS x\r\n", b"USER a\r\n", b"STAT\r\n", b"LIST\r\n", b"UIDL 2\r\n",
    b"RETR 1\r\n", b"RETR 3\r\n", b"TOP 2 1\r\n", b"DELE 1\r\n", b"RSET\r\n", b"CAPA\r\n",
    b"AUTH PLAIN\r\n", b"AGFiAHB3\r\n", b"*\r\n", b"STLS\r\n", b"QUIT\r\n", b"x" * 300,
]  # fmt: skip


@_QUICK
@given(_dialogue(_POP3_COMMANDS))
def test_pop3_fuzz(data: bytes) -> None:
    pop3_input(data)
