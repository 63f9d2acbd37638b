"""After a compaction the index follows the messages to their new places without reading
the mbox again, and a reader's own change needs no other reader to look at the file; the
index stays what a reindex from the files would make."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.store.read import NoSuchMessage, Reader, sync_mbox
from postier.store.read.edits import Editor
from postier.store.read.mbox_changes import record_changes
from postier.store.read.mbox_compact import CompactResult, compact
from postier.store.read.sync_compacted import moved_to_compacted

ENTRY = "a@x.mbox"
ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = b"From s@y Thu Nov 27 02:23:09 2026\n"


def foreign(number: int, body: bytes | None = None) -> bytes:
    """A message as another tool filed it, of a length of its own."""
    text = body if body is not None else b"line\n" * (1 + number % 7)
    head = b"From: s@y\nSubject: m%d\nMessage-ID: <%d@y>\n\n" % (number, number)
    return ENVELOPE + head + text + b"\n"


@pytest.fixture
def mbox(tmp_path: Path) -> Path:
    store_dir = tmp_path / "mail"
    store_dir.mkdir()
    path = store_dir / ENTRY
    path.write_bytes(b"".join(foreign(n) for n in range(60)))
    return path


@pytest.fixture
def read_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages the index's updates have read from an mbox."""
    count = [0]
    original = sync_mbox.iter_mbox

    def counted(*args: object, **kwargs: object) -> Iterator[object]:
        for message in original(*args, **kwargs):  # type: ignore[arg-type]
            count[0] += 1
            yield message

    monkeypatch.setattr(sync_mbox, "iter_mbox", counted)
    return count


@pytest.fixture
def no_background(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Deletions with wait=False leave the mbox to a compaction the test runs itself."""
    asked: list[str] = []

    def written_back(self: Editor, entry: str, wait: bool) -> None:
        asked.append(entry)

    monkeypatch.setattr(Editor, "_written_back", written_back)
    return asked


def rows(reader: Reader) -> list[tuple[object, ...]]:
    with reader.db.reading() as conn:
        return conn.execute(
            "SELECT id, position, length, size, seen, hidden FROM messages ORDER BY position"
        ).fetchall()


def rebuilt(store_dir: Path) -> list[tuple[object, ...]]:
    """The rows a reindex from the files makes."""
    with Reader(store_dir, memory=True, fsync=False) as fresh:
        fresh.reindex()
        return rows(fresh)


def ids_in_order(reader: Reader) -> list[str]:
    return [str(row[0]) for row in rows(reader)]


def test_a_compaction_moves_the_rows_without_reading_the_file(
    mbox: Path, read_count: list[int]
) -> None:
    store_dir = mbox.parent
    with Reader(store_dir, fsync=False) as reader:
        reader.sync()
        ids = ids_in_order(reader)
        reader.mark([ids[1], ids[30]], read=True)  # Status: written, lengths change
        read_count[0] = 0
        reader.delete([ids[0], ids[20], ids[59]], wait=True)
        assert read_count[0] == 0
        assert rows(reader) == rebuilt(store_dir)
        for id_ in (ids[1], ids[2], ids[31], ids[58]):
            number = int(reader.read_bytes(id_).split(b"Subject: m")[1].split(b"\n")[0])
            assert ids[number] == id_
        assert mbox.read_bytes().count(b"Status: RO\n") == 2


def test_what_came_after_the_compaction_is_read_from_where_it_stopped(
    mbox: Path, read_count: list[int], no_background: list[str]
) -> None:
    store_dir = mbox.parent
    with Reader(store_dir, fsync=False) as reader:
        reader.sync()
        ids = ids_in_order(reader)
        reader.delete([ids[3], ids[4]], wait=False)
        result = compact(store_dir, ENTRY, fsync=False)
        with mbox.open("ab") as file:  # delivered after the rename
            file.write(foreign(100) + foreign(101))
        record_changes(store_dir, ENTRY, delete=[ids[10]], fsync=False)  # another process's
        read_count[0] = 0
        reader.editor._compacted(ENTRY, result)
        assert read_count[0] == 2  # the two appended, not the 58 moved
        assert rows(reader) == [
            row if row[0] != ids[10] else (*row[:5], 1) for row in rebuilt(store_dir)
        ]
        with pytest.raises(NoSuchMessage):
            reader.locate(ids[10])


def test_an_index_not_of_the_file_compacted_is_left_to_a_look(
    mbox: Path, no_background: list[str]
) -> None:
    store_dir = mbox.parent
    with Reader(store_dir, fsync=False) as reader:
        reader.sync()
        ids = ids_in_order(reader)
        reader.delete([ids[5]], wait=False)
        result = compact(store_dir, ENTRY, fsync=False)
        reader.sync()  # read the new file already
        with reader.db.writing() as conn:
            assert moved_to_compacted(conn, ENTRY, result) is None
        assert rows(reader) == rebuilt(store_dir)


def test_twins_whose_ids_shift_are_read_again(tmp_path: Path) -> None:
    store_dir = tmp_path / "mail"
    store_dir.mkdir()
    twin = foreign(7)
    (store_dir / ENTRY).write_bytes(foreign(1) + twin + foreign(2) + twin + foreign(3))
    with Reader(store_dir, fsync=False) as reader:
        reader.sync()
        ids = ids_in_order(reader)
        result_seen: list[bool] = []
        original = Editor._compacted

        def compacted(self: Editor, entry: str, result: CompactResult) -> None:
            result_seen.append(result.renumbered)
            original(self, entry, result)

        Editor._compacted = compacted  # type: ignore[method-assign]
        try:
            reader.delete([ids[1]], wait=True)
        finally:
            Editor._compacted = original  # type: ignore[method-assign]
        assert result_seen == [True]
        assert rows(reader) == rebuilt(store_dir)
        assert len(rows(reader)) == 4


def test_a_readers_own_deletion_makes_no_other_reader_read_the_mbox(
    mbox: Path, read_count: list[int], no_background: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = mbox.parent
    updates = [0]
    original = sync_mbox.MboxUpdate.run

    def run(self: sync_mbox.MboxUpdate) -> object:
        updates[0] += 1
        return original(self)

    with Reader(store_dir, fsync=False) as deleter, Reader(store_dir, fsync=False) as observer:
        observer.sync()
        ids = ids_in_order(observer)
        monkeypatch.setattr(sync_mbox.MboxUpdate, "run", run)
        deleter.delete([ids[7]], wait=False)
        deleter.mark([ids[8]], read=True)
        for reader in (deleter, observer):
            with pytest.raises(NoSuchMessage):
                reader.locate(ids[7])
            assert reader.locate(ids[8]).summary.read
        assert updates[0] == 0
        # Another process deletes (and compacts, as its reader closes): the observer reads
        # no message of the mbox to find out.
        script = (
            "import sys; from postier.store.read import Reader\n"
            "with Reader(sys.argv[1], fsync=False) as r: r.delete([sys.argv[2]], wait=False)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        subprocess.run([sys.executable, "-c", script, str(store_dir), ids[9]], env=env, check=True)
        read_count[0] = 0
        with pytest.raises(NoSuchMessage):
            observer.locate(ids[9])
        assert read_count[0] == 0
        with pytest.raises(NoSuchMessage):
            deleter.locate(ids[9])
