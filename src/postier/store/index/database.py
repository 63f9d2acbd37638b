"""The index's database file: opened in WAL mode, one connection per thread, and made anew
when it is missing, of another schema version, or damaged.

SQLite's WAL mode and its locks are what keep several processes (server workers, a CLI
reader) right: readers never wait and always see the last commit whole; a writer takes
the write lock with `BEGIN IMMEDIATE` and holds it for one mailbox's update (or for a whole
reindex, in one transaction), so nobody sees half of one. Threads of one process take a
lock of their own first, so that they queue here instead of in SQLite's busy handler.

The index is derived from the files: when the database is damaged (`DatabaseError` on
opening or on use) or its file was deleted or replaced under us, it is thrown away and
built again from the mailboxes. A store that cannot be written to (an archive on a
read-only disk) gets an index in memory, built at each start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from .schema import KEPT_TABLES, SCHEMA_VERSION, TABLES
from .words import EPOCH_KEY, KnownWords

log = logging.getLogger("postier.store")

INDEX_DIR: Final = Path(".postier")
INDEX_NAME: Final = "index.sqlite3"
BUSY_TIMEOUT_MS: Final = 30_000
"""How long a writer waits for another (a reindex of a large store holds the lock for the
time it takes): the waiting writer is never on a client's path."""
MMAP_BYTES: Final = 1 << 30
"""How much of the index file is read through a memory map (address space, not memory)."""
_SIDE_FILES: Final = ("", "-wal", "-shm", "-journal")


class IndexUnavailableError(Exception):
    """The index could not be opened, even anew (the error says why)."""


class _OtherVersion(sqlite3.DatabaseError):
    """The file holds an index of another schema version: rebuilt, with `kept`, the rows
    of `KEPT_TABLES` it held."""

    def __init__(self, message: str, kept: dict[str, list[tuple[object, ...]]]) -> None:
        super().__init__(message)
        self.kept = kept


def index_path(store_dir: Path) -> Path:
    """Where the store's index lives."""
    return store_dir / INDEX_DIR / INDEX_NAME


class IndexDatabase:
    """The store's index database, shared by the threads of one process."""

    def __init__(self, store_dir: Path, *, memory: bool = False) -> None:
        self.path = index_path(store_dir)
        self._memory = memory or not _writable(store_dir)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._generation = 0
        """Bumped each time the file is made anew: threads then reopen their connection."""
        self._shared: sqlite3.Connection | None = None
        """The one connection of an index in memory (it exists only in that connection)."""
        self._identity: tuple[int, int] | None = None
        self._guard = threading.Lock()
        self.known_words = KnownWords()
        """The words `words` holds, as far as this process knows (for the writers)."""

    @property
    def in_memory(self) -> bool:
        return self._memory

    # -- connections -------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the file made) when needed."""
        if self._memory:
            with self._guard:
                if self._shared is None:
                    self._shared = _open(":memory:", check_same_thread=False)
                return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.generation == self._generation:
            return conn
        if conn is not None:
            conn.close()
        conn = self._open_file()
        self._local.conn = conn
        self._local.generation = self._generation
        return conn

    def _open_file(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept: dict[str, list[tuple[object, ...]]] = {}
        for attempt in range(2):
            try:
                conn = _open(str(self.path))
                _restore(conn, kept)
                self._remember_identity()
                return conn
            except sqlite3.DatabaseError as error:
                if attempt:
                    raise IndexUnavailableError(f"the index {self.path}: {error}") from error
                if isinstance(error, _OtherVersion):
                    kept = error.kept
                    log.info("the index %s is of %s; building it again", self.path, error)
                else:
                    log.warning("the index %s is damaged (%s); building it again", self.path, error)
                self._discard_files()
        raise AssertionError("unreachable")

    def _remember_identity(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            info = os.stat(self.path)
            self._identity = (info.st_dev, info.st_ino)

    def replaced(self) -> bool:
        """Whether the database file was deleted or replaced since it was opened here
        (someone removed `.postier/`, say): then it is opened again, empty, and rebuilt."""
        if self._memory or self._identity is None:
            return False
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (info.st_dev, info.st_ino) != self._identity

    def reopen(self) -> None:
        """Drop every thread's connection: each opens the file again on its next use."""
        self._generation += 1
        self._identity = None

    def discard(self) -> None:
        """Throw the database away (it is damaged): the next connection makes it anew."""
        if self._memory:
            with self._guard:
                if self._shared is not None:
                    self._shared.close()
                    self._shared = None
            return
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self._discard_files()
        self.reopen()

    def _discard_files(self) -> None:
        for suffix in _SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    # -- transactions ------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: this process's writers one at a time, then SQLite's lock."""
        with self._write_lock:
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                self.known_words.before_commit(conn)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self.known_words.rolled_back()
                raise
            self.known_words.committed()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query in it sees the same commit."""
        conn = self.connection()
        if conn.in_transaction:  # nested in a write, or in another read: already one view
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file and truncate it (after a large update)."""
        if not self._memory:
            with contextlib.suppress(sqlite3.OperationalError):  # a reader holds a snapshot
                self.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's local goes)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        with self._guard:
            if self._shared is not None:
                self._shared.close()
                self._shared = None

    def size(self) -> int:
        """Bytes on disk: the database and its write-ahead log."""
        total = 0
        for suffix in _SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total


def _open(name: str, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection with the schema in place; DatabaseError when the file is damaged or
    of another version (the caller then starts afresh)."""
    conn = sqlite3.connect(
        name,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if name != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        # A crash may lose the last commits of the index, never corrupt it; the files are
        # the truth and the next look re-reads what the index lost.
        conn.execute("PRAGMA synchronous = NORMAL")
        # A search reads much of the index: mapped, it is read from the OS's cache in place
        # rather than copied page by page into each connection's own small cache.
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        version = _version(conn)
        if version is None:
            # Every statement is idempotent: two processes making the file at once agree.
            conn.executescript(TABLES)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)", (EPOCH_KEY, secrets.token_hex(8))
            )
        elif version != str(SCHEMA_VERSION):
            kept = _kept_rows(conn)
            raise _OtherVersion(f"schema version {version}, not {SCHEMA_VERSION}", kept)
    except BaseException:
        conn.close()
        raise
    return conn


def _kept_rows(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """The rows of `KEPT_TABLES` an index of another version holds (of the tables and
    columns it has: none in one older than them)."""
    kept: dict[str, list[tuple[object, ...]]] = {}
    for table, columns in KEPT_TABLES.items():
        names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if set(columns) <= names:
            kept[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    return kept


def _restore(conn: sqlite3.Connection, kept: dict[str, list[tuple[object, ...]]]) -> None:
    """Put the rows an index of another version held into the new one."""
    for table, rows in kept.items():
        columns = KEPT_TABLES[table]
        marks = ", ".join("?" for _ in columns)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )


def _version(conn: sqlite3.Connection) -> str | None:
    tables = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
    if tables is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return None if row is None else str(row[0])


def _writable(store_dir: Path) -> bool:
    """Whether the index can live in the store: a store not made yet (a reader never makes
    one) or one that cannot be written to gets an index in memory."""
    if not store_dir.is_dir():
        return False
    target = store_dir / INDEX_DIR
    candidate = target if target.exists() else store_dir
    return os.access(candidate, os.W_OK | os.X_OK)
