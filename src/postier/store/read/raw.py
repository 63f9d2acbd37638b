"""A stored message's bytes as a stream: never the whole of a large message in memory.

An mbox message is read from its offset in the file, a chunk at a time, its mboxrd quoting
undone line by line (a chunk always ends at a line's end, so no quoted line is cut); a
Maildir message is its file. The index says where a message is; a file replaced since
(a compaction, a mail client's rename) is noticed, and the caller looks again.
"""

from __future__ import annotations

import io
import os
from typing import Final

from ..mboxrd import unquote_mboxrd
from .errors import NoSuchMessage

CHUNK: Final = 1 << 16
_FROM: Final = b"From "


class MboxMessageStream(io.RawIOBase):
    """The message at `offset` of an open mbox, `length` quoted bytes after its `From `
    line; the descriptor is closed with the stream."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        super().__init__()
        self._fd = fd
        line = os.pread(fd, 1024, offset)
        end = line.find(b"\n")
        if not line.startswith(_FROM) or end < 0:
            raise NoSuchMessage("the message moved in its mailbox; try again")
        self._next = offset + end + 1
        self._left = length
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while not self._pending and self._left > 0:
            self._pending = self._chunk()
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _chunk(self) -> bytes:
        data = os.pread(self._fd, min(CHUNK, self._left), self._next)
        if not data:
            raise NoSuchMessage("the message was cut short in its mailbox; try again")
        if len(data) < self._left:
            cut = data.rfind(b"\n")
            if cut >= 0:
                data = data[: cut + 1]
        self._next += len(data)
        self._left -= len(data)
        return unquote_mboxrd(data) if b">From " in data else data

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_mbox_message(path: str, offset: int, length: int) -> io.BufferedReader:
    """The message of the mbox at `path` that starts at `offset`, as a buffered stream."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        raw = MboxMessageStream(fd, offset, length)
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(raw, CHUNK)


def open_maildir_message(path: str) -> io.BufferedReader:
    """A Maildir message's file (FileNotFoundError when it moved or went)."""
    return io.BufferedReader(io.FileIO(path, "r"), CHUNK)
