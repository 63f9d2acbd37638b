"""A recorded session told later says exactly what a live narrator said, and what is
kept of sessions stays bounded however long or many they are."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from postier.ends import EndReason
from postier.explain import mailbox_paths
from postier.explain.explainer import CATALOGUES
from postier.explain.narration import Narration
from postier.explain.recorder import DATA_KEPT, MAX_STEPS, SessionRecorder, SessionRecords
from postier.explain.server_narrator import ServerNarrator
from postier.protocol.smtp import (
    NEED_DATA,
    MessageComplete,
    RecipientOffered,
    ServerConfig,
    ServerConnection,
    ServerEvent,
    catalogue,
)

PATHS = functools.partial(mailbox_paths, Path("store"), "maildir")
SESSION = (
    b"EHLO a\r\nRCPT TO:<x@y.fr>\r\nMAIL FROM:<a@y.fr>\r\nRCPT TO:<x@y.fr>\r\nNOOP\n"
    b"DATA\r\nSubject: s\r\n\r\n" + b"line\r\n" * 40 + b".\r\nQUIT\r\n"
)


def drive(recorder: SessionRecorder, data: bytes) -> ServerConnection:
    conn = ServerConnection(ServerConfig(hostname="mx.test"), observer=recorder)
    recorder.attach(conn)
    recorder.accepted("[127.0.0.1]:1", 25, 1)
    conn.receive_data(data)
    while (event := conn.next_event()) is not NEED_DATA and hasattr(event, "__dataclass_fields__"):
        recorder.event(event)  # type: ignore[arg-type]
        if isinstance(event, MessageComplete):
            recorder.stored(event.recipients, event.size, "QID")
            conn.answer_message(catalogue.stored("QID"))
    recorder.ended(EndReason.QUIT)
    return conn


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_replay_tells_what_the_live_narrator_told(language: str) -> None:
    live: list[Narration] = []
    texts = CATALOGUES[language]  # type: ignore[index]
    printing = ServerNarrator(3, texts, live.append, line_limit=512, mailbox_paths=PATHS)
    records = SessionRecords(5, mailbox_paths=PATHS)
    record = records.new()
    drive(SessionRecorder(record, printing), SESSION)
    replayed = [step for _, step in record.narrated(texts)]
    assert [(s.part, s.wire, s.text) for s in replayed] == [(s.part, s.wire, s.text) for s in live]
    assert record.accepted == 1 and record.queue_ids == ["QID"] and record.ended is not None
    assert records.delivered("QID") is record


def test_a_long_session_keeps_its_first_steps_and_stops_watching() -> None:
    record = SessionRecords(5).new()
    recorder = SessionRecorder(record)
    message = b"MAIL FROM:<a@y.fr>\r\nRCPT TO:<x@y.fr>\r\nDATA\r\nhi\r\n.\r\n"
    conn = drive(recorder, b"EHLO a\r\n" + message * (MAX_STEPS // 5))
    assert len(record.steps) == MAX_STEPS
    assert record.dropped > 0
    assert conn.observer is None  # the core no longer tells the full record anything
    assert record.accepted == MAX_STEPS // 5  # still counted
    assert record.narrated(CATALOGUES["en"])  # and still told


def test_a_large_message_keeps_only_what_its_narration_shows() -> None:
    record = SessionRecords(5).new()
    lines = 100_000
    drive(SessionRecorder(record), b"EHLO a\r\nMAIL FROM:<a@y.fr>\r\nRCPT TO:<x@y.fr>\r\nDATA\r\n"
          + (b"x" * 70 + b"\r\n") * lines + b".\r\n")  # fmt: skip
    kept = sum(len(args[0].data) for _, call, args in record.steps if call == "event"
               and hasattr(args[0], "data"))  # fmt: skip
    assert kept <= DATA_KEPT
    told = "\n".join(step.text for _, step in record.narrated(CATALOGUES["en"]))
    assert f"{lines - 5} more lines" in told


def test_only_the_last_sessions_are_kept() -> None:
    records = SessionRecords(3)
    made = [records.new() for _ in range(5)]
    assert [r.id for r in records] == [r.id for r in made[2:]]
    assert records.get(made[0].id) is None
    assert records.get(made[4].id) is made[4]
    assert len({r.id for r in made}) == 5


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_replay_says_chaos_where_the_live_narrator_did(language: str) -> None:
    live: list[Narration] = []
    texts = CATALOGUES[language]  # type: ignore[index]
    printing = ServerNarrator(1, texts, live.append, line_limit=512, mailbox_paths=PATHS)
    record = SessionRecords(5, mailbox_paths=PATHS).new()
    recorder = SessionRecorder(record, printing)
    conn = ServerConnection(ServerConfig(hostname="mx.test"), observer=recorder)
    conn.decides_recipients = True
    recorder.accepted("[127.0.0.1]:1", 25, 1)
    conn.receive_data(b"EHLO a\r\nMAIL FROM:<a@y.fr>\r\nRCPT TO:<x@y.fr>\r\n")
    while isinstance(event := conn.next_event(), ServerEvent):
        recorder.event(event)
        if isinstance(event, RecipientOffered):
            conn.answer_recipient(catalogue.chaos(550, "recipient"))
            recorder.chaos("recipient=550:10")
    replayed = [step for _, step in record.narrated(texts)]
    assert [(s.part, s.text) for s in replayed] == [(s.part, s.text) for s in live]
    assert any("chaos (recipient=550:10)" in s.text for s in replayed)
