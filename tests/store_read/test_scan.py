"""Finding messages in an mbox and a Maildir: boundaries, quoting, chunks cut anywhere."""

from __future__ import annotations

import fcntl
import mailbox
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.store.read.errors import DamagedMailbox
from postier.store.read.scan import count_mbox, envelope_time, iter_mbox
from postier.store.read.scan_maildir import list_maildir
from tests.store_read.helpers import WHEN, mbox_bytes, write_maildir_file

ONE = b"Subject: one\n\nfirst body\n"
QUOTED = b"Subject: two\n\nFrom the start of a line\n>From quoted once\n>>From twice\nend\n"
NO_FINAL_LF = b"Subject: three\n\nno final line feed"


def scan(tmp_path: Path, data: bytes, chunk: int = 1 << 20) -> list[bytes]:
    path = tmp_path / "box.mbox"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return [message.raw for message in iter_mbox(fd, 0, len(data), chunk=chunk)]
    finally:
        os.close(fd)


def test_messages_come_back_as_written(tmp_path: Path) -> None:
    messages = [ONE, QUOTED, NO_FINAL_LF]
    expected = [ONE, QUOTED, NO_FINAL_LF + b"\n"]  # the store ends the last line
    assert scan(tmp_path, mbox_bytes(messages)) == expected


@pytest.mark.parametrize("chunk", [1, 2, 5, 6, 7, 64])
def test_any_chunk_size_gives_the_same_messages(tmp_path: Path, chunk: int) -> None:
    data = mbox_bytes([ONE, QUOTED, b"", ONE])
    assert scan(tmp_path, data, chunk) == scan(tmp_path, data)


bodies = st.lists(
    st.lists(
        st.sampled_from(
            [b"From x", b">From y", b">>From ", b"From", b"", b"text", b"\x00\xff", b">"]
        ),
        max_size=6,
    ).map(lambda lines: b"Subject: s\n\n" + b"".join(line + b"\n" for line in lines)),
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(messages=bodies, chunk=st.integers(1, 40))
def test_quoting_round_trips_for_any_lines_and_chunks(
    tmp_path_factory: pytest.TempPathFactory, messages: list[bytes], chunk: int
) -> None:
    tmp = tmp_path_factory.mktemp("rt")
    found = scan(tmp, mbox_bytes(messages), chunk)
    assert found == messages


@settings(max_examples=150, deadline=None)
@given(messages=bodies, chunk=st.integers(1, 40), keep=st.integers(0, 60))
def test_a_message_longer_than_keep_comes_with_its_start_only(
    tmp_path_factory: pytest.TempPathFactory, messages: list[bytes], chunk: int, keep: int
) -> None:
    path = tmp_path_factory.mktemp("keep") / "k.mbox"
    data = mbox_bytes(messages)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        whole = list(iter_mbox(fd, 0, len(data), chunk=chunk))
        kept = list(iter_mbox(fd, 0, len(data), chunk=chunk, keep=keep))
    finally:
        os.close(fd)
    assert [(m.offset, m.envelope) for m in kept] == [(m.offset, m.envelope) for m in whole]
    assert [m.length for m in kept] == [len(m.data) for m in whole]
    for short, full in zip(kept, whole, strict=True):
        if short.complete:
            assert short.data == full.data
        else:
            assert len(full.data) > keep and full.data.startswith(short.data)
            assert len(short.data) >= keep


def test_size_is_the_unquoted_size(tmp_path: Path) -> None:
    data = mbox_bytes([QUOTED, b">From first line\n\nbody\n"])
    path = tmp_path / "q.mbox"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        found = list(iter_mbox(fd, 0, len(data)))
    finally:
        os.close(fd)
    assert [m.size for m in found] == [len(m.raw) for m in found]
    assert found[0].raw == QUOTED


def test_reading_from_an_offset_gives_the_later_messages(tmp_path: Path) -> None:
    first = mbox_bytes([ONE])
    data = mbox_bytes([ONE, QUOTED])
    path = tmp_path / "o.mbox"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        later = [m.raw for m in iter_mbox(fd, len(first), len(data))]
        count = count_mbox(fd, len(data))
    finally:
        os.close(fd)
    assert later == [QUOTED]
    assert count.count == 2
    assert count.last_line is not None and envelope_time(count.last_line) == WHEN.replace(second=10)


@settings(max_examples=60, deadline=None)
@given(messages=bodies, chunk=st.integers(1, 12))
def test_counting_agrees_with_scanning(
    tmp_path_factory: pytest.TempPathFactory, messages: list[bytes], chunk: int
) -> None:
    path = tmp_path_factory.mktemp("count") / "c.mbox"
    data = mbox_bytes(messages)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert count_mbox(fd, len(data), chunk=chunk).count == len(messages)
    finally:
        os.close(fd)


def test_a_file_that_is_no_mbox_is_damaged(tmp_path: Path) -> None:
    with pytest.raises(DamagedMailbox, match="From"):
        scan(tmp_path, b"Subject: not an mbox\n\nbody\n")
    path = tmp_path / "bad.mbox"
    path.write_bytes(b"garbage")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(DamagedMailbox):
            count_mbox(fd, 7)
    finally:
        os.close(fd)


def test_an_mbox_written_by_python_mailbox_reads_the_same(tmp_path: Path) -> None:
    """Python's `mailbox` is an independent mbox writer (mboxo quoting, its own From lines)."""
    path = tmp_path / "other.mbox"
    box = mailbox.mbox(path)
    texts = [b"Subject: a\n\nFrom the top\nbody\n", b"Subject: b\n\nsecond\n"]
    for text in texts:
        box.add(text)
    box.flush()
    box.close()
    assert scan(tmp_path, path.read_bytes()) == texts
    # ... and the mailbox module reads what we read.
    box = mailbox.mbox(path)
    assert [box.get_bytes(key).replace(b">From", b"From") for key in box.iterkeys()] == texts
    box.close()


@pytest.mark.parametrize(
    ("line", "when"),
    [
        (b"From a@b Thu Nov 27 02:23:09 2026", WHEN),
        (
            b"From MAILER-DAEMON Thu Nov  7 02:23:09 2026",
            datetime(2026, 11, 7, 2, 23, 9, tzinfo=UTC),
        ),
        (b"From a@b Thu Nov 27 02:23 2026", datetime(2026, 11, 27, 2, 23, tzinfo=UTC)),
        (b"From a@b", None),
        (b"From a@b Thu Feb 31 02:23:09 2026", None),
    ],
)
def test_envelope_dates(line: bytes, when: datetime | None) -> None:
    assert envelope_time(line) == when


def test_maildir_lists_new_and_cur_in_delivery_order(tmp_path: Path) -> None:
    maildir = tmp_path / "alice@example.org"
    write_maildir_file(maildir, "1764210190.M5P1Q1.host", b"Subject: second\n\n")
    write_maildir_file(maildir, "1764210189.M999999P1Q2.host:2,S", b"Subject: first\n\n", "cur")
    # Microseconds order messages of one second: M5 before M40, not as text.
    write_maildir_file(maildir, "1764210190.M40P1Q3.host", b"Subject: third\n\n")
    write_maildir_file(maildir, ".hidden", b"not a message")
    (maildir / "tmp" / "1764210100.M1P1Q1.host").write_bytes(b"being written")
    files = list_maildir(maildir).files
    subjects = [item.read().raw for item in files]  # type: ignore[union-attr]
    assert subjects == [b"Subject: first\n\n", b"Subject: second\n\n", b"Subject: third\n\n"]
    assert files[0].delivered == datetime(2025, 11, 27, 2, 23, 9, 999999, tzinfo=UTC)


def test_a_message_moved_to_cur_is_still_read(tmp_path: Path) -> None:
    maildir = tmp_path / "bob@example.org"
    path = write_maildir_file(maildir, "1764210190.M5P1Q1.host", b"Subject: moved\n\n")
    [item] = list_maildir(maildir).files
    os.rename(path, maildir / "cur" / "1764210190.M5P1Q1.host:2,S")
    stored = item.read()
    assert stored is not None and stored.raw == b"Subject: moved\n\n"
    os.unlink(maildir / "cur" / "1764210190.M5P1Q1.host:2,S")
    assert item.read() is None


def test_uncommitted_maildir_copies_are_left_out(tmp_path: Path) -> None:
    from postier.store.journal import JOURNAL_DIR
    from postier.store.journal_record import JournalEntries

    maildir = tmp_path / "carol@example.org"
    write_maildir_file(maildir, "1764210189.M1P1Q1.host", b"Subject: committed\n\n")
    write_maildir_file(maildir, "1764210190.M1P1Q2.host", b"Subject: in flight\n\n")
    journal = tmp_path / JOURNAL_DIR
    journal.mkdir(parents=True)
    entries = JournalEntries(maildir_files=("carol@example.org/1764210190.M1P1Q2.host",))
    (journal / "1-x.journal").write_bytes(entries.encode())
    with (journal / "1-x.journal").open("rb") as owner:
        fcntl.flock(owner, fcntl.LOCK_EX)  # its server lives: the batch may still be undone
        listing = list_maildir(maildir)
        assert [item.read().raw for item in listing.files] == [b"Subject: committed\n\n"]  # type: ignore[union-attr]
        assert listing.held_back == 1
    # Its server died with every copy renamed out of tmp/: recovery keeps them, and so do we.
    assert len(list_maildir(maildir).files) == 2
    write_maildir_file(maildir, "1764210190.M1P1Q2.host", b"Subject: in fli", sub="tmp")
    assert len(list_maildir(maildir).files) == 1  # not whole: recovery rolls it back
