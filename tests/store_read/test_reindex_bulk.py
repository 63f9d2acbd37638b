"""A reindex from scratch (`Reader.reindex`: rows written in batches, the indexes and
triggers of `messages` made again at the end, `counts`, `deliveries` and `sharing` summed
in one statement each) gives exactly the index that the per-message path gives (each row
inserted on its own, every trigger firing): every table compared, row by row, and the
full-text indexes term by term, from the same index file, for mbox, Maildir and both.

The store holds what the derived tables sum: shared deliveries (one queue id to several
mailboxes), read and unread copies, a copy deleted but not yet out of its mbox (hidden),
twins in an mbox written by another program, `X-Tags:` headers, plus-addresses, and tags
chosen through the API, kept across the reindex (and dropped for a copy that is gone).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from postier.store.index.database import index_path
from postier.store.index.rebuild import statements
from postier.store.index.words import clear as clear_words
from postier.store.naming import StoreFormat, mailbox_path
from postier.store.read import Reader
from postier.store.read.mbox_changes import record_changes
from postier.store.read.rows import BulkRows
from postier.store.read.tags import prune
from tests.store_read.helpers import deliver, html_only, mbox_bytes, plain, with_attachments

ALICE, BOB, CAROL = "alice@example.org", "bob+invoice@example.org", "carol@example.org"
DAVE = "dave@example.org"
LAYOUTS: dict[str, Mapping[str, StoreFormat]] = {
    "mbox": {ALICE: "mbox", BOB: "mbox", CAROL: "mbox"},
    "maildir": {ALICE: "maildir", BOB: "maildir", CAROL: "maildir"},
    "mixed": {ALICE: "mbox", BOB: "maildir", CAROL: "maildir"},
}


def fill(store: Path, layout: Mapping[str, StoreFormat]) -> None:
    """Deliveries to one and to several mailboxes, each in its format, and Dave's mbox
    written by another program (twins, no postier `Received:`)."""
    messages = [
        plain("Tagged", "Tagged text.\n", message_id="<t@x>", X_Tags="invoice, Paid"),
        with_attachments("Attached"),
        html_only("Letter"),
        plain("Accents", "Été à Zoë, naïve café.\n", message_id="<a@x>"),
        plain("Control\x01word", "tab\there new\nline\n", message_id="<c@x>"),
    ]
    for fmt in ("mbox", "maildir"):
        recipients = [address for address, wanted in layout.items() if wanted == fmt]
        if not recipients:
            continue
        deliver(store, fmt, messages, recipients)  # each delivery shared by them
        for address in recipients:
            deliver(store, fmt, [plain(f"Only {address}", message_id=f"<{address}>")], [address])
    twin = bytes(plain("Twin", "The same.\n", message_id="<twin@x>"))
    other = bytes(plain("Other", "Not the same.\n", message_id="<other@x>"))
    mailbox_path(store, DAVE, "mbox").write_bytes(mbox_bytes([twin, other, twin]))


def prepare(store: Path) -> list[str]:
    """Marks, a deletion not yet written out, and tags chosen."""
    with Reader(store, fsync=False) as reader:
        listed = reader.messages(None, limit=None).messages
        by_subject = {summary.subject: summary.id for summary in listed}
        reader.mark([by_subject["Attached"], by_subject["Twin"]], read=True)
        reader.set_tags([by_subject["Letter"]], ["chosen", "kept"])
        reader.set_tags([by_subject["Accents"]], ["doomed"])
        reader.delete([by_subject["Accents"]], wait=False)
        reader.set_tags([by_subject["Other"]], ["gone"])
        reader.sync()
        reader.db.checkpoint()
        with reader.db.reading() as conn:
            (chosen,) = conn.execute("SELECT count(*) FROM tags_chosen").fetchone()
        assert chosen >= 2
        return [summary.id for summary in listed if summary.subject == "Twin"]


def one_at_a_time(reader: Reader) -> int:
    """The per-message path: every row inserted on its own, with the triggers in place."""
    files = reader.store.mailbox_files()
    with reader.db.writing() as conn:
        for table in ("search", "counts", "deliveries", "messages", "mailboxes"):
            conn.execute(f"DELETE FROM {table}")
        clear_words(conn)
        for mailbox in files:
            reader._sync.update(conn, mailbox)
        prune(conn)
        (count,) = conn.execute("SELECT count(*) FROM messages").fetchone()
    return int(count)


def _noted(close: Callable[[BulkRows], None], made: list[BulkRows]) -> Callable[[BulkRows], None]:
    """`BulkRows.close`, keeping each instance closed, to see what it did."""

    def noted(self: BulkRows) -> None:
        made.append(self)
        close(self)

    return noted


def _rows(conn: sqlite3.Connection, query: str) -> list[tuple[object, ...]]:
    return sorted(conn.execute(query).fetchall(), key=repr)


def dump(path: Path) -> dict[str, object]:
    """Every table of the index, in a form two equal indexes share: `words` by word (its
    IDs follow the order of a set), the full-text indexes by (term, row, column) through
    `fts5vocab`, `meta` without the random epoch of the words."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.execute("INSERT INTO search(search) VALUES ('integrity-check')")
        conn.execute("INSERT INTO words_trigrams(words_trigrams) VALUES ('integrity-check')")
        found: dict[str, object] = {}
        names = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("search_", "words_trigrams_"))
        ]
        assert {"messages", "search", "words", "counts", "deliveries", "sharing"} <= set(names)
        for name in names:
            if name == "words":
                found[name] = sorted(word for (word,) in conn.execute("SELECT word FROM words"))
            elif name == "words_trigrams":
                conn.execute(
                    "CREATE VIRTUAL TABLE temp.trigrams USING fts5vocab(main, words_trigrams, "
                    "'instance')"
                )
                found[name] = _rows(
                    conn,
                    "SELECT t.term, w.word FROM temp.trigrams t JOIN words w ON w.id = t.doc",
                )
            elif name == "search":
                found[name] = _rows(conn, "SELECT rowid, * FROM search")
                conn.execute(
                    "CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, search, 'instance')"
                )
                found["search terms"] = _rows(conn, "SELECT term, doc, col FROM temp.terms")
            elif name == "meta":
                found[name] = _rows(conn, "SELECT * FROM meta WHERE key != 'words_epoch'")
            else:
                found[name] = _rows(conn, f'SELECT * FROM "{name}"')
        found["schema"] = _rows(
            conn,
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        )
        return found
    finally:
        conn.close()


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of an index file (SQLite's backup: the WAL's commits included)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{target}{suffix}"):
            os.unlink(f"{target}{suffix}")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
@pytest.mark.parametrize(
    ("batch", "workers"),
    [(1, 0), (500, 0), (3, 0), (3, 2)],
    ids=["batch-1", "batch-500", "batch-3", "batch-3-in-2-workers"],
)
def test_a_reindex_from_scratch_gives_the_index_of_the_per_message_path(
    tmp_path: Path, layout: str, batch: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "mail"
    fill(store, LAYOUTS[layout])
    twins = prepare(store)
    path = index_path(store)
    saved = tmp_path / "saved.sqlite3"
    _copy(path, saved)
    # Another program drops Dave's "Other": its chosen tags go at the reindex.
    twin = bytes(plain("Twin", "The same.\n", message_id="<twin@x>"))
    mailbox_path(store, DAVE, "mbox").write_bytes(mbox_bytes([twin, twin]))
    # ... and a deletion of the second twin is logged, not yet written out: a hidden row.
    assert len(twins) == 2
    record_changes(store, mailbox_path(store, DAVE, "mbox").name, delete=twins[1:], fsync=False)
    results = {}
    for way in ("one at a time", "bulk"):
        _copy(saved, path)
        with Reader(store, fsync=False, tags_from_plus=True) as reader:
            if way == "bulk":
                monkeypatch.setattr(BulkRows.__init__, "__defaults__", (batch, 0))
                reader.workers = workers
                made: list[BulkRows] = []
                monkeypatch.setattr(BulkRows, "close", _noted(BulkRows.close, made))
                count = reader.reindex()
                assert len(made) == 1
                assert (made[0].extracted_elsewhere > 0) == (workers > 0)
            else:
                count = one_at_a_time(reader)
            reader.db.checkpoint()
        results[way] = (count, dump(path))
    old, new = results["one at a time"], results["bulk"]
    assert old[0] == new[0] > 10
    assert old[1].keys() == new[1].keys()
    for table in old[1]:
        assert new[1][table] == old[1][table], table
    kept = {tags for _, tags in old[1]["tags_chosen"]}  # type: ignore[attr-defined]
    assert '["chosen", "kept"]' in kept
    assert '["gone"]' not in kept
    hidden = [row for row in old[1]["messages"] if row[18]]  # type: ignore[attr-defined,index]
    assert len(hidden) == 1


def test_the_schema_script_splits_into_its_statements() -> None:
    """Each statement of the schema runs on its own (a trigger's body keeps its `;`)."""
    conn = sqlite3.connect(":memory:")
    try:
        for statement in statements():
            assert sqlite3.complete_statement(statement)
            conn.execute(statement)
        kinds = {kind for (kind,) in conn.execute("SELECT type FROM sqlite_master")}
        assert kinds == {"table", "index", "trigger"}
    finally:
        conn.close()


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in text.split()}


def _alive(pid: int) -> bool:
    """Running (a zombie, reaped by nobody yet, has exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
    reason="needs Linux's /proc and two processors",
)
def test_the_workers_of_a_reindex_killed_with_sigkill_leave_too(tmp_path: Path) -> None:
    """Forked at its second batch, they see the reindexing process end and end too."""
    store = tmp_path / "mail"
    store.mkdir()
    head = "From: a@example.com\nTo: alice@example.org\nSubject: N {0}\nMessage-ID: <{0}@x>\n\n"
    messages = [(head.format(n) + "Text.\n" * 20).encode() for n in range(3000)]
    mailbox_path(store, ALICE, "mbox").write_bytes(mbox_bytes(messages))
    process = subprocess.Popen(
        [sys.executable, "-m", "postier", "reindex", "--store", str(store)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        # One worker a processor, two at least (`reindex_workers`), all forked at once.
        while len(workers) < 2 and process.poll() is None and time.monotonic() < deadline:
            workers |= _children(process.pid)
            time.sleep(0.01)
        assert len(workers) >= 2, "the reindex started no workers"
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 30
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in workers if "workers" in locals() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
