"""Small file-system steps the store repeats: full writes, directory fsyncs, private dirs.

Mail is private: mailboxes are created 0600 and directories 0700.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write all of `data` to `fd`; `os.write` may write less than asked."""
    with memoryview(data) as view:
        written = 0
        while written < len(view):
            written += os.write(fd, view[written:])


def write_all_at(fd: int, data: bytes, offset: int) -> None:
    """Write all of `data` at `offset` of `fd`, whatever the file position."""
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], offset + written)


def fsync_dir(path: Path | str | int) -> None:
    """Make a directory's entries (a created, renamed or removed file) durable.

    POSIX ties a file's name to its directory, not to the file: after `rename` or
    `unlink`, only an fsync of the directory makes the change survive a crash.
    """
    if isinstance(path, int):
        os.fsync(path)
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dir(path: Path, *, fsync: bool = False) -> bool:
    """Create `path` and any missing parent, each 0700; existing directories stay as they are.

    (`Path.mkdir(parents=True)` would give the parents the default mode.) With `fsync`,
    each new directory's entry is made durable in its parent. True when anything was created.
    """
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
        if fsync:
            fsync_dir(directory.parent)
    return bool(missing)


def write_chunks(fd: int, chunks: Iterable[bytes], buffer_size: int = 1 << 18) -> int:
    """Write the concatenation of `chunks` to `fd` in few system calls; return its size."""
    buffer = bytearray()
    total = 0
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= buffer_size:
            write_all(fd, buffer)
            total += len(buffer)
            buffer.clear()
    write_all(fd, buffer)
    return total + len(buffer)
