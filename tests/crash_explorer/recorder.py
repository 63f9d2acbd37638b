"""Records the store's file-system operations as it runs, in-process, on a real directory.

The store reaches the disk only through `os` (its `fileio` and `flush` layers are thin
wrappers over `os.open`, `os.write`, `os.pwrite`, `os.fsync`...; `pathlib` calls `os`
too), so the recorder swaps those functions of the `os` module for wrappers while it is
active. A wrapper runs the real call, and when the call touched a path under the store's
root, appends its logical effect to the trace (`trace`): which inode's bytes, which
directory's entry. Calls on other paths (pytest's, sqlite's in-memory index) pass through
untouched. `Barrier`s are recorded after the flush returns, so a barrier in the trace is
one the store could rely on.

It can also make the process "die" (`die_at_barrier`): the n-th flush from then on
raises `SimulatedDeath` instead of running, and every later mutation of the store's tree
too, so the real directory stays what the trace says was issued. The scenario then
drops the dead store's descriptors (its locks) without any file-system step, as the
kernel would for a killed process, and runs recovery, which is recorded as well.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .trace import (
    ROOT_INODE,
    Barrier,
    Link,
    Note,
    NoteKind,
    Op,
    Rename,
    Trace,
    Truncate,
    Unlink,
    Write,
)


class SimulatedDeath(BaseException):
    """The process died here: no `except Exception` of the store may swallow it."""


@dataclass(slots=True)
class _Open:
    inode: int
    is_dir: bool
    append: bool


_PATCHED = (
    "open", "write", "pwrite", "ftruncate", "rename", "replace", "unlink", "remove",
    "mkdir", "rmdir", "fsync", "fdatasync", "close",
)  # fmt: skip


class Recorder:
    """Swaps the `os` functions for recording wrappers while `active()` lasts."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self.trace = Trace()
        self._real: dict[str, Callable[..., Any]] = {name: getattr(os, name) for name in _PATCHED}
        self._lock = threading.RLock()
        self._fds: dict[int, _Open] = {}
        self._dirs: dict[str, int] = {self.root: ROOT_INODE}
        """Each directory's path and inode (the store never renames a directory)."""
        self._inodes: dict[tuple[int, int], int] = {}
        """The real (st_dev, st_ino) of each file or directory and its inode in the trace."""
        self._next_inode = ROOT_INODE + 1
        self._death_in: int | None = None
        self.dead = False
        self._snapshot()

    # -- the starting tree -----------------------------------------------------------------

    def _snapshot(self) -> None:
        """The tree as it is now: durable, the starting point of every crash state."""
        root_info = os.lstat(self.root)
        self._inodes[(root_info.st_dev, root_info.st_ino)] = ROOT_INODE
        self.trace.initial_dirs[ROOT_INODE] = {}
        for directory, subdirs, files in os.walk(self.root):
            parent = self._dirs[directory]
            for name in sorted(subdirs):
                path = os.path.join(directory, name)
                inode = self._new_inode(os.lstat(path))
                self._dirs[path] = inode
                self.trace.initial_dirs[inode] = {}
                self.trace.initial_dirs[parent][name] = inode
            for name in sorted(files):
                path = os.path.join(directory, name)
                inode = self._new_inode(os.lstat(path))
                self.trace.initial_dirs[parent][name] = inode
                self.trace.initial_files[inode] = Path(path).read_bytes()

    def _new_inode(self, info: os.stat_result) -> int:
        inode = self._next_inode
        self._next_inode += 1
        self._inodes[(info.st_dev, info.st_ino)] = inode  # a reused number is a new inode
        return inode

    # -- what the scenario tells ---------------------------------------------------------

    def note(self, kind: NoteKind, tokens: tuple[str, ...]) -> None:
        """A promise the store just made (see `trace.Note`)."""
        if tokens:
            self._add(Note(kind, tokens))

    def die_at_barrier(self, count: int) -> None:
        """The `count`-th flush from now (1: the next) kills the process instead."""
        self._death_in = count

    def revive(self) -> None:
        """A new process starts on the same disk (after the scenario dropped the dead one)."""
        self.dead = False
        self._death_in = None
        self._fds.clear()

    @contextmanager
    def active(self) -> Iterator[Recorder]:
        wrappers = {name: getattr(self, f"_{name}") for name in _PATCHED}
        for name, wrapper in wrappers.items():
            setattr(os, name, wrapper)
        try:
            yield self
        finally:
            for name, real in self._real.items():
                setattr(os, name, real)

    # -- paths ---------------------------------------------------------------------------

    def _add(self, op: Op) -> None:
        with self._lock:
            self.trace.ops.append(op)

    def _abs(self, path: Any, dir_fd: int | None = None) -> str | None:
        """The absolute path `path` names, when it is under the root; else None."""
        if isinstance(path, int):
            return None
        text = os.fsdecode(os.fspath(path))
        if dir_fd is not None and not os.path.isabs(text):
            base = self._dir_path(dir_fd)
            if base is None:
                return None
            text = os.path.join(base, text)
        full = os.path.normpath(os.path.abspath(text))
        if full == self.root or full.startswith(self.root + os.sep):
            return full
        return None

    def _dir_path(self, fd: int) -> str | None:
        opened = self._fds.get(fd)
        if opened is None or not opened.is_dir:
            return None
        return next((path for path, inode in self._dirs.items() if inode == opened.inode), None)

    def _entry(self, full: str) -> tuple[int, str]:
        parent, name = os.path.split(full)
        return self._dirs[parent], name

    def _check_alive(self) -> None:
        if self.dead:
            raise SimulatedDeath

    # -- the wrappers --------------------------------------------------------------------

    def _open(self, path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        full = self._abs(path, dir_fd)
        real = self._real["open"]
        if full is None:
            return real(path, flags, mode, dir_fd=dir_fd)  # type: ignore[no-any-return]
        self._check_alive()
        with self._lock:
            existed = os.path.lexists(full)
            fd: int = real(path, flags, mode, dir_fd=dir_fd)
            info = os.fstat(fd)
            key = (info.st_dev, info.st_ino)
            if stat.S_ISDIR(info.st_mode):
                self._fds[fd] = _Open(self._dirs[full], True, False)
                return fd
            if not existed:
                inode = self._new_inode(info)
                parent, name = self._entry(full)
                self.trace.ops.append(Link(parent, name, inode, False))
            else:
                inode = self._inodes[key]
                if flags & os.O_TRUNC and info.st_size == 0:
                    self.trace.ops.append(Truncate(inode, 0))
            self._fds[fd] = _Open(inode, False, bool(flags & os.O_APPEND))
            return fd

    def _write(self, fd: int, data: Any) -> int:
        opened = self._fds.get(fd)
        if opened is None:
            return self._real["write"](fd, data)  # type: ignore[no-any-return]
        self._check_alive()
        size = os.fstat(fd).st_size
        offset = size if opened.append else os.lseek(fd, 0, os.SEEK_CUR)
        written: int = self._real["write"](fd, data)
        chunk = bytes(memoryview(data)[:written])
        self._add(Write(opened.inode, offset, chunk, offset + written > size))
        return written

    def _pwrite(self, fd: int, data: Any, offset: int) -> int:
        opened = self._fds.get(fd)
        if opened is None:
            return self._real["pwrite"](fd, data, offset)  # type: ignore[no-any-return]
        self._check_alive()
        size = os.fstat(fd).st_size
        written: int = self._real["pwrite"](fd, data, offset)
        chunk = bytes(memoryview(data)[:written])
        self._add(Write(opened.inode, offset, chunk, offset + written > size))
        return written

    def _ftruncate(self, fd: int, length: int) -> None:
        opened = self._fds.get(fd)
        if opened is not None:
            self._check_alive()
        self._real["ftruncate"](fd, length)
        if opened is not None:
            self._add(Truncate(opened.inode, length))

    def _rename(self, src: Any, dst: Any, *, src_dir_fd: int | None = None,
                dst_dir_fd: int | None = None) -> None:  # fmt: skip
        self._move("rename", src, dst, src_dir_fd, dst_dir_fd)

    def _replace(self, src: Any, dst: Any, *, src_dir_fd: int | None = None,
                 dst_dir_fd: int | None = None) -> None:  # fmt: skip
        self._move("replace", src, dst, src_dir_fd, dst_dir_fd)

    def _move(self, which: str, src: Any, dst: Any, src_fd: int | None, dst_fd: int | None) -> None:
        full_src, full_dst = self._abs(src, src_fd), self._abs(dst, dst_fd)
        if full_src is None or full_dst is None:
            self._real[which](src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            return
        self._check_alive()
        with self._lock:
            info = os.lstat(full_src)
            self._real[which](src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            inode = self._inodes[(info.st_dev, info.st_ino)]
            (src_parent, src_name), (dst_parent, dst_name) = (
                self._entry(full_src), self._entry(full_dst),
            )  # fmt: skip
            self.trace.ops.append(Rename(src_parent, src_name, dst_parent, dst_name, inode))

    def _unlink(self, path: Any, *, dir_fd: int | None = None) -> None:
        self._remove_entry("unlink", path, dir_fd)

    def _remove(self, path: Any, *, dir_fd: int | None = None) -> None:
        self._remove_entry("remove", path, dir_fd)

    def _rmdir(self, path: Any, *, dir_fd: int | None = None) -> None:
        self._remove_entry("rmdir", path, dir_fd)

    def _remove_entry(self, which: str, path: Any, dir_fd: int | None) -> None:
        full = self._abs(path, dir_fd)
        if full is None:
            self._real[which](path, dir_fd=dir_fd)
            return
        self._check_alive()
        with self._lock:
            self._real[which](path, dir_fd=dir_fd)
            parent, name = self._entry(full)
            self._dirs.pop(full, None)
            self.trace.ops.append(Unlink(parent, name))

    def _mkdir(self, path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        full = self._abs(path, dir_fd)
        if full is None:
            self._real["mkdir"](path, mode, dir_fd=dir_fd)
            return
        self._check_alive()
        with self._lock:
            self._real["mkdir"](path, mode, dir_fd=dir_fd)
            inode = self._new_inode(os.lstat(full))
            parent, name = self._entry(full)
            self._dirs[full] = inode
            self.trace.ops.append(Link(parent, name, inode, True))

    def _fsync(self, fd: int) -> None:
        self._flush("fsync", fd)

    def _fdatasync(self, fd: int) -> None:
        self._flush("fdatasync", fd)

    def _flush(self, which: str, fd: int) -> None:
        opened = self._fds.get(fd)
        if opened is None:
            self._real[which](fd)
            return
        with self._lock:
            self._check_alive()
            if self._death_in is not None:
                self._death_in -= 1
                if self._death_in <= 0:
                    self.dead = True
                    raise SimulatedDeath
        self._real[which](fd)
        self._add(Barrier(opened.inode))

    def _close(self, fd: int) -> None:
        self._real["close"](fd)
        with self._lock:
            self._fds.pop(fd, None)
