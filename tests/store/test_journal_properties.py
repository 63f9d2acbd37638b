"""The journal's record and completion: they read back as written, and a torn write never
reads as a completion that was not written whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from postier.store.journal_record import JournalEntries

names = st.from_regex(r"[a-z0-9@._+-]{1,30}\.mbox", fullmatch=True).filter(
    lambda name: not name.startswith(".")
)
sizes = st.dictionaries(names, st.integers(0, 2**40), min_size=1, max_size=5)
BLOCK = 4096


@st.composite
def batches(draw: st.DrawFn) -> tuple[JournalEntries, dict[str, int] | None, dict[str, int]]:
    """A record (its ends known or not) and the ends its completion would give."""
    before = draw(sizes)
    ends = {name: size + draw(st.integers(0, 2**20)) for name, size in before.items()}
    known = draw(st.booleans())
    record_id = draw(st.integers(1, 2**31))
    entries = JournalEntries(before, (), record_id, dict(ends) if known else None)
    completed = {name: end + draw(st.integers(0, 100)) for name, end in ends.items()}
    return entries, (dict(ends) if known else None), completed


def laid_out(entries: JournalEntries, completion: bytes | None = None) -> bytes:
    record = entries.encode()
    padded = record.ljust(-(-(len(record) + 1) // BLOCK) * BLOCK)
    return padded + (completion or b"")


@given(batches())
def test_a_record_reads_back_as_written(
    batch: tuple[JournalEntries, dict[str, int] | None, dict[str, int]],
) -> None:
    entries, known, completed = batch
    assert JournalEntries.decode(laid_out(entries)) == entries
    finished = JournalEntries.decode(laid_out(entries, entries.encode_completion(completed)))
    assert finished is not None
    assert (finished.mbox_ends, finished.finished) == (completed, True)
    assert finished.mbox_sizes == entries.mbox_sizes and finished.record_id == entries.record_id
    assert known == entries.mbox_ends


@given(batches(), st.data())
def test_a_torn_completion_is_no_completion(
    batch: tuple[JournalEntries, dict[str, int] | None, dict[str, int]], data: st.DataObject
) -> None:
    entries, known, completed = batch
    completion = entries.encode_completion(completed)
    cut = data.draw(st.integers(0, len(completion) - 1))
    # What the block holds after a torn write: the first bytes new, the rest as before.
    torn = laid_out(entries, completion[:cut] + b" " * (len(completion) - cut))
    decoded = JournalEntries.decode(torn)
    assert decoded is not None
    assert not decoded.finished
    assert decoded.mbox_ends == known  # the record's own, never a part of the completion


@given(batches(), st.data())
def test_a_torn_record_reads_as_none_or_whole(
    batch: tuple[JournalEntries, dict[str, int] | None, dict[str, int]], data: st.DataObject
) -> None:
    entries, _, _ = batch
    whole = laid_out(entries)
    cut = data.draw(st.integers(0, len(whole)))
    decoded = JournalEntries.decode(whole[:cut] + b" " * (len(whole) - cut))
    assert decoded is None or decoded == entries


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_any_bytes_decode_to_entries_or_none(head: bytes, tail: bytes) -> None:
    for data in (head, b"{" + head, b'{"version":2,"id":1,"mbox":{},"maildir":[]}' + head + tail):
        decoded = JournalEntries.decode(data)
        assert decoded is None or isinstance(decoded, JournalEntries)
