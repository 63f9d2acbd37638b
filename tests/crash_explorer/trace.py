"""The logical trace the recorder writes and the crash model reads: one record per
file-system operation of the store, plus the points where it made a promise.

Operations name inodes, not paths, as a file system does: data (`Write`, `Truncate`)
belongs to an inode, wherever its names go, and names (`Link`, `Unlink`, `Rename`) are
entries of a directory inode. So a copy written in Maildir's `tmp/`, flushed, then renamed
into `new/` keeps its flushed data even if its `tmp/` entry never reached the disk: the
model need not guess what a path meant when the op was made.

`Barrier` is a completed `fsync`/`fdatasync` of one inode (a file: its data and size; a
directory: its entries). `Note` marks a promise: from that point on, what it names must
survive any crash (`ack`: a 250 would be sent; `expunge`/`expunged`: a deletion asked
for, then done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from postier.store import StoreFormat

ROOT_INODE = 0
"""The store's directory itself."""


@dataclass(frozen=True, slots=True)
class Write:
    """`len(data)` bytes written at `offset` of a file inode (appends included)."""

    inode: int
    offset: int
    data: bytes
    appends: bool
    """Whether it extended the file when it was made: ordered-mode file systems persist
    such a write only as a prefix, never the new size without the data."""


@dataclass(frozen=True, slots=True)
class Truncate:
    inode: int
    size: int


@dataclass(frozen=True, slots=True)
class Link:
    """A new entry `name` in directory `parent` for a new inode (a created file or a
    `mkdir`)."""

    parent: int
    name: str
    inode: int
    is_dir: bool


@dataclass(frozen=True, slots=True)
class Unlink:
    parent: int
    name: str


@dataclass(frozen=True, slots=True)
class Rename:
    """Atomic on the file systems we run on (one journal transaction): it reaches the disk
    whole or not at all, and a flush of either directory covers it."""

    src_parent: int
    src_name: str
    dst_parent: int
    dst_name: str
    inode: int


@dataclass(frozen=True, slots=True)
class Barrier:
    """A flush of `inode` that returned."""

    inode: int


NoteKind = Literal["ack", "expunge", "expunged"]


@dataclass(frozen=True, slots=True)
class Note:
    """A promise made at this point: `tokens` name the messages it is about."""

    kind: NoteKind
    tokens: tuple[str, ...]


Op = Write | Truncate | Link | Unlink | Rename | Barrier | Note
DataOp = Write | Truncate
NameOp = Link | Unlink | Rename


@dataclass(frozen=True, slots=True)
class Sent:
    """One message the scenario handed the store: who should have it, and its bytes as a
    reader must find them (after the header lines the store adds)."""

    token: str
    recipients: tuple[str, ...]
    """The addresses whose mailboxes must hold it, each once (lower case)."""
    body: bytes


@dataclass
class Trace:
    """What one scenario did: its starting tree (durable), its operations in order, and
    the messages it sent."""

    initial_dirs: dict[int, dict[str, int]] = field(default_factory=dict)
    """Each directory inode's entries before the first op."""
    initial_files: dict[int, bytes] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    sent: dict[str, Sent] = field(default_factory=dict)
    fmt: StoreFormat = "mbox"
