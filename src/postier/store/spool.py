"""Holds one message's data while DATA is received: in memory while small, then on disk.

The session writes the unstuffed data here chunk by chunk from the event loop, so a write
is a memory copy or a buffered write to a temporary file, never an fsync. Past
`memory_limit` bytes the data moves to an unnamed temporary file, so a message of any size
costs at most `memory_limit` bytes plus one read chunk of memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

DEFAULT_MEMORY_LIMIT: Final = 1 << 20
DEFAULT_CHUNK: Final = 1 << 20


class Spool:
    """The data of one message, written once in order, then read back from the start."""

    def __init__(
        self, memory_limit: int = DEFAULT_MEMORY_LIMIT, tmp_dir: str | Path | None = None
    ) -> None:
        self._memory_limit = memory_limit
        self._tmp_dir = tmp_dir
        self._buffer: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._closed = False

    @property
    def size(self) -> int:
        """How many bytes were written."""
        return self._size

    @property
    def in_memory(self) -> bool:
        """Whether the data is still in memory (it never moves back)."""
        return self._file is None

    def write(self, data: bytes | memoryview) -> None:
        """Append `data`."""
        if self._closed:
            raise ValueError("write to a closed spool")
        if self._buffer is not None and self._size + len(data) > self._memory_limit:
            self._move_to_file()
        if self._buffer is not None:
            self._buffer += data
        else:
            assert self._file is not None
            self._file.write(data)
        self._size += len(data)

    def _move_to_file(self) -> None:
        assert self._buffer is not None
        # Unnamed (unlinked at once where the system allows): nothing to clean up after a crash.
        self._file = tempfile.TemporaryFile(dir=self._tmp_dir)  # noqa: SIM115 - closed by close()
        self._file.write(self._buffer)
        self._buffer = None

    def chunks(self, size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The data from the start, in chunks of at most `size` bytes.

        Each call starts again from the beginning; reading never disturbs writing.
        """
        if self._closed:
            raise ValueError("read from a closed spool")
        if self._buffer is not None:
            yield from self._memory_chunks(self._buffer, size)
            return
        assert self._file is not None
        self._file.flush()
        fd = self._file.fileno()
        offset = 0
        while offset < self._size:
            # pread leaves the file position, where writes go, alone.
            chunk = os.pread(fd, min(size, self._size - offset), offset)
            if not chunk:
                raise OSError("spool file shorter than written")
            offset += len(chunk)
            yield chunk

    @staticmethod
    def _memory_chunks(buffer: bytearray, size: int) -> Iterator[bytes]:
        for start in range(0, len(buffer), size):
            # One copy per chunk, and the view is released before the caller resumes,
            # so the buffer can still grow afterwards.
            with memoryview(buffer) as view:
                chunk = bytes(view[start : start + size])
            yield chunk

    def getvalue(self) -> bytes:
        """The whole data at once: for small messages and tests only."""
        return b"".join(self.chunks())

    def close(self) -> None:
        """Free the memory or the temporary file. Idempotent."""
        self._closed = True
        self._buffer = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
