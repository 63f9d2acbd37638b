"""The read side through `Reader`: listing, stable IDs, raw streams, read state, deletion
and change events, in both formats, checked against the files and Python's `mailbox`."""

from __future__ import annotations

import fcntl
import mailbox
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat, mailbox_path
from postier.store.read import (
    BadQuery,
    Change,
    NoSuchMailbox,
    NoSuchMessage,
    Reader,
    sync_maildir,
)
from postier.store.read.scan_maildir import list_locations
from tests.store_read.helpers import WHEN, deliver, mbox_bytes, plain, with_attachments

ALICE = "alice@example.org"
BOB = "bob@example.org"


@pytest.fixture(params=["mbox", "maildir"])
def fmt(request: pytest.FixtureRequest) -> StoreFormat:
    value: StoreFormat = request.param
    return value


@pytest.fixture
def reader(store: Path) -> Iterator[Reader]:
    store.mkdir(parents=True, exist_ok=True)
    with Reader(store, fsync=False) as opened:
        yield opened


def _fill(store: Path, fmt: StoreFormat, count: int = 3, who: str = ALICE) -> None:
    deliver(store, fmt, [plain(f"message {n}", f"body number {n}\n") for n in range(count)], [who])


def test_mailboxes_have_counts_unread_size_and_newest(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 3)
    deliver(store, fmt, [plain("for bob")], [BOB], when=WHEN + timedelta(hours=1))
    with Reader(store, fsync=False) as reader:
        boxes = reader.mailboxes()
    assert [box.address for box in boxes] == [BOB, ALICE]  # newest first
    bob, alice = boxes
    assert (alice.count, alice.unread, bob.count, bob.unread) == (3, 3, 1, 1)
    assert alice.newest == WHEN + timedelta(seconds=2)
    assert alice.size > 0


def test_messages_are_listed_newest_first_with_numbers_and_ids(
    store: Path, fmt: StoreFormat
) -> None:
    _fill(store, fmt, 5)
    with Reader(store, fsync=False) as reader:
        page = reader.messages(ALICE, limit=2, offset=1)
        everything = reader.messages(None, limit=None)
    assert (page.total, page.unread) == (5, 5)
    assert [row.subject for row in page.messages] == ["message 3", "message 2"]
    assert [row.number for row in page.messages] == [4, 3]
    assert len({row.id for row in everything.messages}) == 5
    assert all(len(row.id) == 17 and row.id.isalnum() for row in everything.messages)
    assert everything.messages[0].snippet == "body number 4"


def test_a_message_by_id_and_by_number(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 3)
    with Reader(store, fsync=False) as reader:
        second = reader.numbered(ALICE, 2)
        assert second.summary.subject == "message 1"
        assert reader.message(second.id).summary.number == 2
        assert reader.numbered(ALICE, None).summary.subject == "message 2"
        with pytest.raises(NoSuchMessage, match="holds 3 messages"):
            reader.numbered(ALICE, 4)
        with pytest.raises(NoSuchMailbox):
            reader.numbered("nobody@example.org", 1)
        with pytest.raises(NoSuchMessage):
            reader.message("mzzzzzzzzzzzzzzzz")


def test_raw_is_streamed_with_the_mbox_quoting_undone(store: Path, fmt: StoreFormat) -> None:
    body = "first line\nFrom the start\n>From quoted\n" + "x" * 200_000 + "\nend\n"
    deliver(store, fmt, [plain("quoted", body)], [ALICE])
    with Reader(store, fsync=False) as reader:
        found = reader.numbered(ALICE, 1)
        with reader.open_raw(found.id) as stream:
            chunks = []
            while chunk := stream.read(4096):
                chunks.append(chunk)
        raw = b"".join(chunks)
        view = reader.view(found.id)
    assert b"\nFrom the start\n>From quoted\n" in raw
    assert raw.endswith(b"\nend\n")
    assert len(raw) == found.summary.size
    assert view.plain is not None and view.plain.startswith("first line\nFrom the start")


def test_ids_stay_across_a_reindex_a_restart_and_deletions(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 4)
    with Reader(store, fsync=False) as reader:
        before = {row.subject: row.id for row in reader.messages(ALICE).messages}
        reader.delete([before["message 1"]])
        after_delete = {row.subject: row.id for row in reader.messages(ALICE).messages}
        reader.reindex()
        after_reindex = {row.subject: row.id for row in reader.messages(ALICE).messages}
    (store / ".postier" / "index.sqlite3").unlink()
    with Reader(store, fsync=False) as reader:
        restarted = {row.subject: row.id for row in reader.messages(ALICE).messages}
    expected = {subject: id_ for subject, id_ in before.items() if subject != "message 1"}
    assert after_delete == after_reindex == restarted == expected


def test_marking_read_in_a_maildir_is_the_s_flag_in_cur(store: Path) -> None:
    _fill(store, "maildir", 2)
    with Reader(store, fsync=False) as reader:
        first = reader.numbered(ALICE, 1)
        assert reader.mark([first.id], read=True) == [first.id]
        assert reader.mark([first.id], read=True) == []  # already read
        assert reader.message(first.id).summary.read
        assert reader.mailboxes()[0].unread == 1
    box = mailbox.Maildir(mailbox_path(store, ALICE, "maildir"), create=False)
    flags = {msg["Subject"]: (msg.get_subdir(), msg.get_flags()) for msg in box}
    assert flags == {"message 0": ("cur", "S"), "message 1": ("new", "")}
    with Reader(store, fsync=False) as reader:
        reader.mark([first.id], read=False)
    box = mailbox.Maildir(mailbox_path(store, ALICE, "maildir"), create=False)
    assert {msg["Subject"]: msg.get_flags() for msg in box} == {"message 0": "", "message 1": ""}


def test_an_mbox_keeps_read_state_in_its_log_until_it_is_rewritten(store: Path) -> None:
    _fill(store, "mbox", 3)
    path = mailbox_path(store, ALICE, "mbox")
    untouched = path.read_bytes()
    with Reader(store, fsync=False) as reader:
        first, second, third = (reader.numbered(ALICE, n) for n in (1, 2, 3))
        reader.mark([second.id], read=True)
        assert reader.message(second.id).summary.read
    assert path.read_bytes() == untouched  # reading one message copies no mailbox
    (store / ".postier" / "index.sqlite3").unlink()  # the log is no index: it stays
    with Reader(store, fsync=False) as reader:
        assert reader.message(second.id).summary.read
        assert not reader.message(first.id).summary.read
        reader.delete([third.id])  # a rewrite: the read state goes into the file
    box = mailbox.mbox(path, create=False)
    flags = {msg["Subject"]: msg.get_flags() for msg in box}
    box.close()
    assert flags == {"message 0": "", "message 1": "RO"}
    with Reader(store, fsync=False) as reader:  # the file is the truth: a new index agrees
        reader.reindex()
        assert reader.message(second.id).summary.read
        assert not reader.message(first.id).summary.read
        reader.mark([second.id], read=False)
        assert not reader.message(second.id).summary.read


def test_deleting_leaves_the_files_without_the_messages(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 4)
    _fill(store, fmt, 2, who=BOB)
    with Reader(store, fsync=False) as reader:
        rows = {row.subject: row.id for row in reader.messages(ALICE).messages}
        deleted = reader.delete([rows["message 0"], rows["message 2"]])
        assert sorted(deleted) == sorted([rows["message 0"], rows["message 2"]])
        assert [row.subject for row in reader.messages(ALICE).messages] == [
            "message 3",
            "message 1",
        ]
        with pytest.raises(NoSuchMessage):
            reader.message(rows["message 0"])
        assert reader.delete_mailbox(BOB) == 2
        with pytest.raises(NoSuchMailbox):
            reader.delete_mailbox("nobody@example.org")
    subjects = _subjects_on_disk(store, fmt, ALICE)
    assert sorted(subjects) == ["message 1", "message 3"]
    assert _subjects_on_disk(store, fmt, BOB) == []
    with Reader(store, fsync=False) as reader:
        assert reader.delete_all() == 2
        assert reader.messages(None).total == 0


def test_changes_are_announced(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 2)
    heard: list[Change] = []
    with Reader(store, fsync=False) as reader:
        reader.subscribe(heard.append)
        reader.sync()
        new = [change for change in heard if change.kind == "new"]
        assert len(new) == 1 and len(new[0].ids) == 2 and new[0].mailbox == ALICE
        first, second = new[0].ids
        heard.clear()
        reader.mark([first], read=True)
        reader.delete([second])
        assert [(c.kind, c.ids) for c in heard] == [("changed", (first,)), ("deleted", (second,))]
        heard.clear()
        _fill(store, fmt, 1)  # another writer: found at the next look
        reader.sync()
        assert [change.kind for change in heard] == ["new"]


def test_a_bad_query_is_a_clear_error(reader: Reader) -> None:
    with pytest.raises(BadQuery, match="bad search"):
        reader.messages(None, query="nosuchfield:x")


def test_search_finds_decoded_text(store: Path, fmt: StoreFormat) -> None:
    deliver(store, fmt, [with_attachments("Invoice É"), plain("Other", "nothing here\n")], [ALICE])
    with Reader(store, fsync=False) as reader:
        assert [r.subject for r in reader.messages(None, query="attachments").messages] == [
            "Invoice É"
        ]
        assert reader.messages(None, query="subject:invoice has:attachment").total == 1
        assert reader.messages(None, query="-has:attachment").total == 1
        assert reader.messages(None, query="invoice é").total == 1
        assert reader.messages(ALICE, query="is:unread").total == 2


def test_a_damaged_index_is_built_again(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 3)
    with Reader(store, fsync=False) as reader:
        assert reader.messages(None).total == 3
    index = store / ".postier" / "index.sqlite3"
    index.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    with Reader(store, fsync=False) as reader:
        assert reader.messages(None).total == 3


def test_the_index_deleted_under_a_reader_is_rebuilt(store: Path, fmt: StoreFormat) -> None:
    _fill(store, fmt, 2)
    with Reader(store, fsync=False) as reader:
        assert reader.messages(None).total == 2
        for path in (store / ".postier").glob("index.sqlite3*"):
            path.unlink()
        _fill(store, fmt, 1)
        assert reader.messages(None).total == 3


def _subjects_on_disk(store: Path, fmt: StoreFormat, address: str) -> list[str]:
    path = mailbox_path(store, address, fmt)
    box: mailbox.Mailbox[mailbox.Message]
    box = mailbox.mbox(path, create=False) if fmt == "mbox" else mailbox.Maildir(path, create=False)
    try:
        return [str(message["Subject"]) for message in box]
    finally:
        box.close()


def test_twins_appended_after_a_look_get_the_ids_a_reindex_gives(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identical messages another tool appends are told apart by their order: an update
    that reads only what was appended counts the twins the index already holds."""
    twin = b"Subject: twin\n\nsame\n"
    path = mailbox_path(store, ALICE, "mbox")
    store.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mbox_bytes([twin, b"Subject: other\n\nx\n"]))
    with Reader(store, fsync=False) as reader:
        assert len(reader.messages(ALICE).messages) == 2
        before = reader.last_seq()
        with path.open("ab") as file:
            file.write(mbox_bytes([twin, twin]))
        with monkeypatch.context() as patch:  # an ID given twice would throw the index away
            patch.setattr(reader.db, "discard", lambda: pytest.fail("the index was discarded"))
            appended = {row.id for row in reader.messages(ALICE).messages}
        assert len(reader.indexed_since(before)) == 2  # only what was appended was read
        reader.reindex()
        rebuilt = {row.id for row in reader.messages(ALICE).messages}
    assert len(appended) == 4
    assert appended == rebuilt


def test_a_maildir_copy_held_back_uncommitted_is_listed_once_committed(store: Path) -> None:
    """A look between a copy's rename into new/ and its delivery's commit leaves it out;
    the commit itself changes nothing in new/, yet the next look must find it."""
    from postier.store.journal import JOURNAL_DIR
    from postier.store.journal_record import JournalEntries

    maildir = mailbox_path(store, ALICE, "maildir")
    name = "1764210190.M1P1Q2.host"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "new" / name).write_bytes(b"Subject: in flight\n\nbody\n")
    journal = store / JOURNAL_DIR / "1-x.journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(JournalEntries(maildir_files=(f"{maildir.name}/{name}",)).encode())
    with Reader(store, fsync=False, freshness=0) as reader:
        with journal.open("rb") as owner:
            fcntl.flock(owner, fcntl.LOCK_EX)  # its server lives: not committed yet
            assert reader.messages(ALICE).messages == []
        journal.unlink()  # committed
        assert [row.subject for row in reader.messages(ALICE).messages] == ["in flight"]


def test_a_word_is_found_after_another_reader_rebuilt_the_index(store: Path) -> None:
    # The first reader knows "zebrafish" is in the index's words; the second's reindex,
    # after the only message holding it went, drops it: the first must insert it again.
    deliver(store, "maildir", [plain("first", "a zebrafish swims\n")], [ALICE])
    with Reader(store, fsync=False) as first:
        assert first.messages(None, query="zebrafi").total == 1
        for path in (store / ALICE).glob("*/*"):
            path.unlink()
        with Reader(store, fsync=False) as second:
            assert second.reindex() == 0
        deliver(store, "maildir", [plain("second", "another zebrafish\n")], [ALICE])
        first.sync()
        assert [m.subject for m in first.messages(None, query="zebrafi").messages] == ["second"]


def test_a_maildir_file_added_in_the_same_clock_step_as_a_look_is_found(store: Path) -> None:
    """A directory's mtime moves in steps of the file system's clock: a delivery just
    after a look, in the same step, leaves `new/` with the mtime the look saw. Simulated
    by setting the mtimes back: the next look must list the Maildir anyway."""
    _fill(store, "maildir", 1)
    maildir = mailbox_path(store, ALICE, "maildir")
    with Reader(store, fsync=False, freshness=0) as reader:
        assert reader.messages(ALICE).total == 1
        times = {sub: (maildir / sub).stat() for sub in ("new", "cur")}
        deliver(store, "maildir", [plain("same step", "body\n")], [ALICE])
        for sub, info in times.items():
            os.utime(maildir / sub, ns=(info.st_atime_ns, info.st_mtime_ns))
        assert reader.messages(ALICE).messages[0].subject == "same step"


def test_a_maildir_untouched_for_a_while_is_not_listed_again(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, "maildir", 2)
    maildir = mailbox_path(store, ALICE, "maildir")
    old = time.time_ns() - 60 * 1_000_000_000
    for sub in ("new", "cur"):
        os.utime(maildir / sub, ns=(old, old))
    with Reader(store, fsync=False, freshness=0) as reader:
        assert reader.messages(ALICE).total == 2
        listed: list[Path] = []
        original = list_locations

        def counting(path: Path) -> list[str]:
            listed.append(path)
            return original(path)

        monkeypatch.setattr(sync_maildir, "list_locations", counting)
        assert reader.messages(ALICE).total == 2
        assert listed == []


def test_a_maildir_message_in_new_and_in_cur_is_listed_once(store: Path) -> None:
    _fill(store, "maildir", 2)
    maildir = mailbox_path(store, ALICE, "maildir")
    first = sorted((maildir / "new").iterdir())[0]
    (maildir / "cur" / f"{first.name}:2,S").write_bytes(first.read_bytes())
    with Reader(store, fsync=False, freshness=0) as reader:
        assert reader.messages(ALICE).total == 2
        (maildir / "cur" / f"{first.name}:2,S").unlink()
        assert reader.messages(ALICE).total == 2


def test_a_maildir_look_reads_only_the_files_it_does_not_know(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, "maildir", 3)
    with Reader(store, fsync=False, freshness=0) as reader:
        assert reader.messages(ALICE).total == 3
        described: list[list[str]] = []
        original = sync_maildir.describe

        def counting(path: Path, locations: list[str]) -> object:
            described.append(list(locations))
            return original(path, locations)

        monkeypatch.setattr(sync_maildir, "describe", counting)
        deliver(store, "maildir", [plain("fourth", "body\n")], [ALICE])
        assert reader.messages(ALICE).total == 4
        assert [len(locations) for locations in described] == [1]
