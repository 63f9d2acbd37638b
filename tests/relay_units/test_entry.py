"""`relay/entry.py`: a queue entry's JSON, both ways, and the files it refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.relay import QueueEntry
from postier.relay.entry import FORMAT, EntryError
from tests.relay_units.helpers import T0, entry


def test_the_json_is_one_line_with_the_format_and_every_field() -> None:
    written = entry(recipients=("a@out.test", "b@out.test"), attempts=2, last_error="451 later")
    data = written.to_json()
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {
        "format": FORMAT,
        "id": written.id,
        "queue_id": "Q1",
        "sender": "sender@in.test",
        "recipients": ["a@out.test", "b@out.test"],
        "size": 10,
        "eight_bit": False,
        "smtputf8": False,
        "queued_at": T0,
        "attempts": 2,
        "next_try": 0.0,
        "last_error": "451 later",
    }
    assert QueueEntry.from_json(data) == written


def test_non_ascii_is_written_as_utf8_not_escaped() -> None:
    written = entry(recipients=("jos\u00e9@out.test",), smtputf8=True)
    assert "jos\u00e9".encode() in written.to_json()
    assert QueueEntry.from_json(written.to_json()) == written


def test_an_entry_without_the_optional_fields_reads_with_their_defaults() -> None:
    fields = json.loads(entry().to_json())
    for name in ("format", "attempts", "next_try", "last_error"):
        del fields[name]
    read = QueueEntry.from_json(json.dumps(fields).encode())
    assert (read.attempts, read.next_try, read.last_error) == (0, 0.0, "")


def test_tried_counts_the_try_and_sets_the_next_one() -> None:
    before = entry(recipients=("a@x.test", "b@x.test"), attempts=3)
    after = before.tried(error="451 busy", at=T0 + 10, delay=120, left=("b@x.test",))
    assert after == entry(
        recipients=("b@x.test",), attempts=4, next_try=T0 + 130, last_error="451 busy"
    )


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_time = st.floats(min_value=0, max_value=4e9, allow_nan=False)
_entries = st.builds(
    QueueEntry,
    id=_text,
    queue_id=_text,
    sender=_text,
    recipients=st.lists(_text, max_size=5).map(tuple),
    size=st.integers(min_value=0, max_value=1 << 40),
    eight_bit=st.booleans(),
    smtputf8=st.booleans(),
    queued_at=_time,
    attempts=st.integers(min_value=0, max_value=1 << 20),
    next_try=_time,
    last_error=_text,
)


@settings(deadline=None)  # a loaded machine must not fail it
@given(_entries)
def test_any_entry_reads_back_as_written(written: QueueEntry) -> None:
    assert QueueEntry.from_json(written.to_json()) == written


GOOD = json.loads(entry().to_json())

MALFORMED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("half written", entry().to_json()[:40]),
    ("not UTF-8", b'{"id": "\xff"}'),
    ("binary", b"\x00\x00\x00\x00"),
    ("a list", b"[]"),
    ("a string", b'"entry"'),
    ("a number", b"1"),
    ("null", b"null"),
    ("a field missing", json.dumps({k: v for k, v in GOOD.items() if k != "sender"}).encode()),
    ("an unknown field", json.dumps({**GOOD, "colour": "blue"}).encode()),
    ("recipients not a list", json.dumps({**GOOD, "recipients": "a@out.test"}).encode()),
    ("recipients of numbers", json.dumps({**GOOD, "recipients": [1, 2]}).encode()),
    ("id a number", json.dumps({**GOOD, "id": 7}).encode()),
    ("sender null", json.dumps({**GOOD, "sender": None}).encode()),
    ("size a string", json.dumps({**GOOD, "size": "10"}).encode()),
    ("attempts a string", json.dumps({**GOOD, "attempts": "3"}).encode()),
    ("attempts a float", json.dumps({**GOOD, "attempts": 1.5}).encode()),
    ("attempts a bool", json.dumps({**GOOD, "attempts": True}).encode()),
    ("next try a string", json.dumps({**GOOD, "next_try": "soon"}).encode()),
    ("queued at null", json.dumps({**GOOD, "queued_at": None}).encode()),
    ("eight bit a number", json.dumps({**GOOD, "eight_bit": 1}).encode()),
    ("last error a list", json.dumps({**GOOD, "last_error": []}).encode()),
]


@pytest.mark.parametrize("data", [d for _, d in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_what_is_not_an_entry_is_refused_with_entry_error(data: bytes) -> None:
    with pytest.raises(EntryError, match=r"^not a queue entry"):
        QueueEntry.from_json(data)


def test_whole_numbers_are_taken_for_times() -> None:
    read = QueueEntry.from_json(json.dumps({**GOOD, "queued_at": 5, "next_try": 0}).encode())
    assert (read.queued_at, read.next_try) == (5, 0)
