"""What a message's data holds, learnt while it is copied: its size as SIZE counts it
(RFC 1870 §3: CRLF line endings, before dot-stuffing) and whether it is 8-bit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Measured:
    """Passes chunks through and counts them as the client core will send them."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self.eight_bit = False
        self._after_cr = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._count(chunk)
            yield chunk

    def _count(self, chunk: bytes) -> None:
        if not chunk:
            return
        crlf = chunk.count(b"\r\n")
        if self._after_cr and chunk[:1] == b"\n":
            crlf += 1  # a CRLF split between two chunks: the CR was counted as bare
            self.size -= 1
        lone_lf = chunk.count(b"\n") - crlf
        lone_cr = chunk.count(b"\r") - chunk.count(b"\r\n")
        self.size += len(chunk) + lone_lf + lone_cr
        self._after_cr = chunk[-1:] == b"\r"
        if not self.eight_bit and not chunk.isascii():
            self.eight_bit = True
