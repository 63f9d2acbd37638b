"""The outbound queue: messages to pass on upstream, kept on disk until it has them.

    <store>/.postier/outbound/
        tmp/               entries being written (removed at start when stale)
        <id>.msg           the data as it goes upstream (postier's Received: first)
        <id>.json          the entry (`QueueEntry`): recipients, tries, next try
        dropped.jsonl      one line per recipient given up (5xx, or too old)
        flush              touched by `postier queue --flush`: every entry is due now

An entry is taken in two steps: `stage` writes both files under `tmp/` and flushes
them, which the server does before it stores the message; `commit` renames them into
place and flushes the directory, once the store has the message and before the client
hears 250. A crash before `commit` leaves the entry in `tmp/` (the client heard no 250
and sends again); after it, the entry is in the queue. The `.json` is renamed last, so
an entry whose `.json` is there always has its data.

Whoever changes or removes an entry holds `flock` on its `.msg` (the deliverer while
it sends it, `postier queue --delete` and `--flush`), so that no two do at once, across
processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from postier.relay.entry import EntryError, QueueEntry
from postier.store import fsync_dir, make_private_dir, write_all

log = logging.getLogger("postier.relay")

STALE: Final = 300.0
"""Seconds after which what a crash left half written (in `tmp/`, or data without its
entry) is removed; an entry being written is never that old."""


class QueueError(Exception):
    """The queue cannot do what was asked; the message is one line for the user."""


class EntryBusyError(QueueError):
    """Another process holds the entry (the deliverer is sending it)."""


@dataclass(slots=True)
class Staged:
    """An entry written under `tmp/`, not yet in the queue."""

    entry: QueueEntry


@dataclass(frozen=True, slots=True)
class Dropped:
    """A recipient given up, as `dropped.jsonl` records it."""

    id: str
    queue_id: str
    sender: str
    recipient: str
    reply: str
    at: float


def queue_path(store: Path) -> Path:
    return store / ".postier" / "outbound"


def new_entry_id() -> str:
    """Sorts by time (to the microsecond), then random: `ls` lists the oldest first."""
    return f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"


class OutboundQueue:
    """The queue's files under one store; safe to share between threads and processes."""

    def __init__(self, store: Path, *, fsync: bool = True) -> None:
        self.path = queue_path(store)
        self.fsync = fsync
        self._tmp = self.path / "tmp"

    def ensure(self) -> None:
        """Create the directories when missing (0700, as the store's)."""
        make_private_dir(self._tmp, fsync=self.fsync)

    # --- taking a message in ------------------------------------------------------------

    def stage(self, name: str, chunks: Iterable[bytes], entry: Callable[[], QueueEntry]) -> Staged:
        """Write `chunks` as the data of entry `name`, then `entry()` (called once the
        data is written, so that it may say what the data held), both under `tmp/` and
        flushed; raises OSError, leaving nothing behind."""
        self.ensure()
        data = self._tmp / f"{name}.msg"
        meta = self._tmp / f"{name}.json"
        try:
            self._write(data, chunks)
            written = entry()
            if written.id != name:
                raise ValueError(f"entry {written.id} staged as {name}")
            self._write(meta, [written.to_json()])
        except BaseException:
            for path in (data, meta):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        return Staged(written)

    def commit(self, staged: Staged) -> None:
        """Put a staged entry in the queue, durably (the deliverer may send it at once)."""
        name = staged.entry.id
        os.rename(self._tmp / f"{name}.msg", self.path / f"{name}.msg")
        os.rename(self._tmp / f"{name}.json", self.path / f"{name}.json")
        if self.fsync:
            fsync_dir(self.path)
            fsync_dir(self._tmp)

    def discard(self, staged: Staged) -> None:
        """Remove a staged entry that will not be committed (the store failed)."""
        for suffix in (".msg", ".json"):
            with contextlib.suppress(FileNotFoundError):
                (self._tmp / f"{staged.entry.id}{suffix}").unlink()

    # --- reading -------------------------------------------------------------------------

    def names(self) -> set[str]:
        """The ids of every entry in the queue."""
        try:
            return {
                name[:-5]
                for name in os.listdir(self.path)
                if name.endswith(".json") and not name.startswith(".")
            }
        except FileNotFoundError:
            return set()

    def load(self, name: str) -> QueueEntry | None:
        """The entry `name`, or None when it is gone (delivered or deleted meanwhile)."""
        try:
            data = (self.path / f"{name}.json").read_bytes()
        except FileNotFoundError:
            return None
        entry = QueueEntry.from_json(data)
        if entry.id != name:
            raise EntryError(f"{name}.json names another entry, {entry.id}")
        return entry

    def entries(self) -> list[QueueEntry]:
        """Every entry, oldest first; one that cannot be read is logged and left out."""
        found: list[QueueEntry] = []
        for name in sorted(self.names()):
            try:
                entry = self.load(name)
            except (EntryError, OSError) as exc:
                log.error("outbound queue: %s.json cannot be read: %s", name, exc)
                continue
            if entry is not None:
                found.append(entry)
        return found

    def flush_requested_at(self) -> float:
        """When `postier queue --flush` last asked for every entry to be tried (0: never)."""
        try:
            return (self.path / "flush").stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def dropped(self) -> list[Dropped]:
        """Every recipient given up, oldest first."""
        try:
            lines = (self.path / "dropped.jsonl").read_bytes().splitlines()
        except FileNotFoundError:
            return []
        records: list[Dropped] = []
        for line in lines:
            try:
                records.append(Dropped(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line cut short by a crash
        return records

    # --- changing an entry ------------------------------------------------------------

    @contextlib.contextmanager
    def held(self, name: str) -> Iterator[IO[bytes] | None]:
        """The entry's data, open and locked against every other holder; None when the
        entry is gone. Raises `EntryBusyError` when another holds it."""
        try:
            data = open(self.path / f"{name}.msg", "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(data.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise EntryBusyError(f"{name} is being sent right now; try again") from None
            if not (self.path / f"{name}.json").exists():
                yield None  # removed between the open and the lock
                return
            yield data
        finally:
            data.close()

    def update(self, entry: QueueEntry) -> None:
        """Replace the entry's file atomically (its holder only)."""
        self._replace(self.path / f"{entry.id}.json", entry.to_json())

    def remove(self, name: str) -> None:
        """Take the entry out of the queue: its `.json` first, so that a crash between
        the two removals leaves only data, which is swept later (its holder only)."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"{name}.json").unlink()
        if self.fsync:
            fsync_dir(self.path)
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"{name}.msg").unlink()

    def record_dropped(self, records: Iterable[Dropped]) -> None:
        """Append to `dropped.jsonl`, flushed: what was given up stays on record."""
        lines = b"".join(
            json.dumps(dataclasses.asdict(record), ensure_ascii=False).encode() + b"\n"
            for record in records
        )
        if not lines:
            return
        self.ensure()
        fd = os.open(
            self.path / "dropped.jsonl",
            os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
            0o600,
        )
        try:
            write_all(fd, lines)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def request_flush(self) -> None:
        """Make every entry due now, for whichever process delivers them."""
        self.ensure()
        path = self.path / "flush"
        path.touch(mode=0o600)
        os.utime(path)

    def sweep(self, now: float | None = None) -> int:
        """Remove what a crash left half written, older than `STALE`; how many files."""
        now = time.time() if now is None else now
        removed = 0
        known = self.names()
        candidates = [*_files(self._tmp)]
        candidates += [p for p in _files(self.path) if p.suffix == ".msg" and p.stem not in known]
        for path in candidates:
            try:
                if now - path.stat().st_mtime > STALE:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    # --- files -------------------------------------------------------------------------

    def _write(self, path: Path, chunks: Iterable[bytes]) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            buffer = bytearray()
            for chunk in chunks:
                buffer += chunk
                if len(buffer) >= 1 << 18:
                    write_all(fd, buffer)
                    buffer.clear()
            write_all(fd, buffer)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _replace(self, path: Path, data: bytes) -> None:
        tmp = self._tmp / f"{path.name}.{secrets.token_hex(4)}"
        self.ensure()
        try:
            self._write(tmp, [data])
            os.rename(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if self.fsync:
            fsync_dir(self.path)


def _files(directory: Path) -> Iterator[Path]:
    try:
        yield from (p for p in directory.iterdir() if p.is_file())
    except FileNotFoundError:
        return
