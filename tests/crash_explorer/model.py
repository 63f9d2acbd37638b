"""The crash model: which disk states a crash after op `k` of a trace may leave, bounded.

What survives a crash after the first `k` operations:

- Durable: every operation covered by a flush that returned before `k`. A `Barrier` of
  a file covers the data ops (writes, truncations) on that inode issued before it; a
  `Barrier` of a directory covers the entries made or removed in it before it (a rename:
  a flush of either of its directories, as it is one journal transaction). A flush of a
  file does not make its name durable (POSIX; the store flushes directories for that).
- Unsynced data of one file persists as a prefix, in issue order, the last op possibly
  torn at any byte (ext4 `data=ordered`, XFS: a file's new size reaches the disk only
  with the data it covers, and the page cache of one file is written back in order
  often enough that a "hole then data" state is not worth modelling). Different files
  are independent: a journal's completion may persist while the mailbox it describes
  does not, or the reverse.
- Unsynced names (create, mkdir, unlink, rename) persist each independently of the
  others (stricter than ext4, whose journal commits them in order: `ordered_names`
  gives that model instead). An entry in a directory whose own entry did not persist is
  unreachable, as on a real disk after fsck.

The number of states grows as 2^(names) x (cuts per file): `states_at` gives the extremes
(nothing unsynced, everything, each name alone dropped or alone kept, each file's cuts
with the rest all in or all out) and `random_per_point` seeded random picks. The
explorer dedupes states by content, so crash points that add nothing cost nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .trace import (
    ROOT_INODE,
    Barrier,
    DataOp,
    Link,
    NameOp,
    Note,
    Rename,
    Trace,
    Truncate,
    Unlink,
    Write,
)


@dataclass(frozen=True, slots=True)
class Choice:
    """One crash state: the unsynced ops that reached the disk. `names`: the indices of the
    name ops kept; `cuts`: for each inode with unsynced data, how many of its unsynced
    data ops persisted whole, and how many bytes of the next one (a torn write)."""

    names: frozenset[int]
    cuts: tuple[tuple[int, int, int], ...]
    """(inode, ops kept whole, bytes of the next)."""
    label: str = ""


@dataclass(frozen=True, slots=True)
class Pending:
    """What a crash after op `k` may or may not keep."""

    k: int
    durable: frozenset[int]
    names: tuple[int, ...]
    data: dict[int, tuple[int, ...]]
    """Each inode with unsynced data ops, and their indices in order."""


def covering_barrier(trace: Trace) -> list[int | None]:
    """For each op, the index of the first flush after it that covers it (None: none)."""
    ops = trace.ops
    result: list[int | None] = [None] * len(ops)
    waiting: dict[int, list[int]] = {}
    """Each inode (file or directory) and the ops that a flush of it would cover."""
    for index, op in enumerate(ops):
        if isinstance(op, Barrier):
            for covered in waiting.pop(op.inode, []):
                if result[covered] is None:
                    result[covered] = index
        elif isinstance(op, Write | Truncate):
            waiting.setdefault(op.inode, []).append(index)
        elif isinstance(op, Link | Unlink):
            waiting.setdefault(op.parent, []).append(index)
        elif isinstance(op, Rename):
            waiting.setdefault(op.src_parent, []).append(index)
            if op.dst_parent != op.src_parent:
                waiting.setdefault(op.dst_parent, []).append(index)
    return result


def pending_at(trace: Trace, k: int, cover: list[int | None]) -> Pending:
    durable: set[int] = set()
    names: list[int] = []
    data: dict[int, list[int]] = {}
    for index, op in enumerate(trace.ops[:k]):
        if isinstance(op, Barrier | Note):
            continue
        flushed = cover[index]
        if flushed is not None and flushed < k:
            durable.add(index)
        elif isinstance(op, Write | Truncate):
            data.setdefault(op.inode, []).append(index)
        else:
            names.append(index)
    return Pending(k, frozenset(durable), tuple(names), {i: tuple(v) for i, v in data.items()})


def _cuts_of(trace: Trace, ops: tuple[int, ...]) -> list[tuple[int, int]]:
    """The prefixes of one file's unsynced data ops: whole ops kept, and a torn middle of
    each write."""
    cuts: list[tuple[int, int]] = []
    for kept, index in enumerate(ops):
        cuts.append((kept, 0))
        op = trace.ops[index]
        if isinstance(op, Write) and len(op.data) > 1:
            cuts.append((kept, len(op.data) // 2))
    cuts.append((len(ops), 0))
    return cuts


def states_at(
    trace: Trace, pending: Pending, *, random_per_point: int, seed: int, ordered_names: bool
) -> list[Choice]:
    """The crash states explored after op `pending.k`: extremes, then seeded random picks."""
    names = pending.names
    inodes = sorted(pending.data)
    cuts = {inode: _cuts_of(trace, pending.data[inode]) for inode in inodes}
    every = tuple((inode, len(pending.data[inode]), 0) for inode in inodes)
    none = tuple((inode, 0, 0) for inode in inodes)
    all_names, no_names = frozenset(names), frozenset[int]()
    choices = [Choice(no_names, none, "nothing unsynced"), Choice(all_names, every, "all")]
    name_sets: list[tuple[frozenset[int], str]]
    if ordered_names:
        name_sets = [(frozenset(names[:n]), f"first {n} names") for n in range(len(names))]
    else:
        name_sets = [(all_names - {n}, f"all but op {n}") for n in names]
        name_sets += [(frozenset({n}), f"only op {n}") for n in names]
    for kept, label in name_sets:
        choices.append(Choice(kept, every, label))
        choices.append(Choice(kept, none, label + ", no data"))
    for inode in inodes:
        for whole, torn in cuts[inode]:
            for names_kept, data_rest in ((all_names, every), (no_names, none)):
                cut = tuple(
                    (i, whole, torn) if i == inode else rest
                    for i, rest in zip(inodes, data_rest, strict=True)
                )
                choices.append(Choice(names_kept, cut, f"inode {inode} cut {whole}+{torn}"))
    pick = random.Random(seed * 1_000_003 + pending.k)
    for _ in range(random_per_point):
        if ordered_names:
            kept_names = frozenset(names[: pick.randint(0, len(names))])
        else:
            kept_names = frozenset(n for n in names if pick.random() < 0.5)
        cut = tuple((i, *pick.choice(cuts[i])) for i in inodes)
        choices.append(Choice(kept_names, cut, "random"))
    return choices


# -- building a state ------------------------------------------------------------------


@dataclass
class Tree:
    """A disk state in memory: each directory inode's entries, each file inode's bytes."""

    dirs: dict[int, dict[str, int]]
    files: dict[int, bytearray]

    def digest(self) -> str:
        """What identifies the state as a reader sees it (names and bytes, not inodes)."""
        hasher = hashlib.blake2b(digest_size=16)
        for path, data in self.walk():
            hasher.update(path.encode() + b"\0" + (b"D" if data is None else b"F" + data) + b"\0")
        return hasher.hexdigest()

    def walk(self, inode: int = ROOT_INODE, prefix: str = "") -> Iterator[tuple[str, bytes | None]]:
        """Every reachable path (directories: None) in sorted order."""
        for name, child in sorted(self.dirs[inode].items()):
            path = f"{prefix}{name}"
            if child in self.dirs:
                yield path, None
                yield from self.walk(child, path + "/")
            else:
                yield path, bytes(self.files.get(child, b""))

    def write_to(self, target: Path) -> None:
        """Make the state real under the empty directory `target`."""
        for path, data in self.walk():
            full = target / path
            if data is None:
                full.mkdir(mode=0o700)
            else:
                fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)


def _apply_data(files: dict[int, bytearray], op: DataOp, length: int | None = None) -> None:
    content = files.setdefault(op.inode, bytearray())
    if isinstance(op, Truncate):
        del content[op.size :]
        content.extend(b"\0" * (op.size - len(content)))
        return
    data = op.data if length is None else op.data[:length]
    if op.offset > len(content):
        content.extend(b"\0" * (op.offset - len(content)))
    content[op.offset : op.offset + len(data)] = data


def _apply_name(dirs: dict[int, dict[str, int]], op: NameOp) -> None:
    if isinstance(op, Link):
        if op.is_dir:
            dirs.setdefault(op.inode, {})
        dirs.setdefault(op.parent, {})[op.name] = op.inode
    elif isinstance(op, Unlink):
        dirs.setdefault(op.parent, {}).pop(op.name, None)
    else:
        source = dirs.setdefault(op.src_parent, {})
        if source.get(op.src_name) == op.inode:
            del source[op.src_name]
        dirs.setdefault(op.dst_parent, {})[op.dst_name] = op.inode


def build(trace: Trace, pending: Pending, choice: Choice) -> Tree:
    """The tree a crash leaves when `choice`'s unsynced ops (and every durable one) persisted."""
    dirs = {inode: dict(entries) for inode, entries in trace.initial_dirs.items()}
    files = {inode: bytearray(data) for inode, data in trace.initial_files.items()}
    partial: dict[int, int] = {}
    kept: set[int] = set(pending.durable) | set(choice.names)
    for inode, whole, torn in choice.cuts:
        ops = pending.data[inode]
        kept.update(ops[:whole])
        if torn and whole < len(ops):
            partial[ops[whole]] = torn
    for index, op in enumerate(trace.ops[: pending.k]):
        if index in partial:
            assert isinstance(op, Write)
            _apply_data(files, op, partial[index])
        elif index not in kept:
            continue
        elif isinstance(op, Write | Truncate):
            _apply_data(files, op)
        elif isinstance(op, Link | Unlink | Rename):
            _apply_name(dirs, op)
    return Tree(dirs, files)
