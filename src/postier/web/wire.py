"""WebSocket text frames as a server writes them on the wire (RFC 6455 §5.2), made
once for a batch and written as they are to every socket.

Pure: texts in, bytes out; no socket. Each frame is whole (FIN set, no fragments),
opcode 0x1 (text), with no RSV bit (no extension: the sockets that take these bytes
negotiate no permessage-deflate) and no mask (§5.1: a server must not mask).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

FIN_TEXT: Final = 0x81
"""FIN (0x80) and the text opcode (0x1), §5.2; RSV1-3 clear."""
_SHORT: Final = 125
"""The longest payload whose length fits the 7-bit field."""
_MEDIUM: Final = 0xFFFF
"""The longest payload whose length fits 16 bits (the 7-bit field then says 126)."""
_LONGEST: Final = 0x7FFF_FFFF_FFFF_FFFF
"""§5.2: with 127, a 64-bit length whose most significant bit must be 0."""
_HEAD7 = struct.Struct("!BB").pack
_HEAD16 = struct.Struct("!BBH").pack
_HEAD64 = struct.Struct("!BBQ").pack


def header(length: int) -> bytes:
    """The head of an unmasked, final text frame of `length` payload bytes, in the
    shortest of §5.2's three length encodings (it says "the minimal number of bytes
    MUST be used")."""
    if length < 0 or length > _LONGEST:
        raise ValueError(f"a frame's payload cannot be {length} bytes")
    if length <= _SHORT:
        return _HEAD7(FIN_TEXT, length)
    if length <= _MEDIUM:
        return _HEAD16(FIN_TEXT, 126, length)
    return _HEAD64(FIN_TEXT, 127, length)


def text_frame(text: str) -> bytes:
    """One text frame: `text` in UTF-8 (§5.6: a text frame's payload is UTF-8)."""
    payload = text.encode()
    return header(len(payload)) + payload


def text_frames(texts: Iterable[str]) -> bytes:
    """Each text a frame of its own, in order, as one run of bytes: a batch written to
    a socket at once."""
    return b"".join(text_frame(text) for text in texts)
