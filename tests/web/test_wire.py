"""`web.wire`: text frames as a server writes them (RFC 6455 §5.2), checked against the
RFC's bytes by hand and read back by aiohttp's own reader."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import aiohttp
import pytest
from aiohttp._websocket.reader import WebSocketDataQueue  # the queue its reader fills
from aiohttp.http_websocket import WebSocketReader
from hypothesis import given
from hypothesis import strategies as st

from postier.web.wire import header, text_frame, text_frames
from tests.web import wsraw

# (payload length, the header §5.2 gives it: FIN|text, then the 7-bit field and any
# extended length in network order)
HEADERS = [
    (0, b"\x81\x00"),
    (1, b"\x81\x01"),
    (125, b"\x81\x7d"),
    (126, b"\x81\x7e\x00\x7e"),
    (65535, b"\x81\x7e\xff\xff"),
    (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    (2**32, b"\x81\x7f\x00\x00\x00\x01\x00\x00\x00\x00"),
    (2**63 - 1, b"\x81\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"),
]


@pytest.mark.parametrize(("length", "expected"), HEADERS)
def test_each_length_has_the_shortest_of_the_three_encodings(length: int, expected: bytes) -> None:
    assert header(length) == expected


@pytest.mark.parametrize("length", [-1, 2**63])
def test_a_length_no_frame_can_say_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="cannot be"):
        header(length)


TEXTS = [
    "",
    "x" * 125,
    "x" * 126,
    "x" * 65535,
    "x" * 65536,
    '{"Type":"new","Data":{"Subject":"Grüße ✉ 郵便 🙂"}}',
    "é" * 63,  # 126 bytes from 63 characters: the length counts bytes
]


@pytest.mark.parametrize("text", TEXTS, ids=lambda t: f"{len(t.encode())}B")
def test_a_frame_is_final_text_unmasked_and_its_payload_utf8(text: str) -> None:
    frames, rest = wsraw.parse(text_frame(text))
    assert rest == b""
    assert frames == [wsraw.Frame(fin=True, rsv=0, opcode=wsraw.TEXT, payload=text.encode())]
    assert aiohttp_reads(text_frame(text)) == [text]


def test_a_batch_is_its_frames_one_after_the_other() -> None:
    wire = text_frames(TEXTS)
    assert wire == b"".join(text_frame(text) for text in TEXTS)
    frames, rest = wsraw.parse(wire)
    assert rest == b""
    assert [frame.payload.decode() for frame in frames] == TEXTS
    assert text_frames([]) == b""


def test_a_frame_cut_anywhere_is_not_read_before_its_end() -> None:
    """What a slow peer's reads see: a prefix holds the whole frames before the cut."""
    texts = ["a", "b" * 200, "c" * 70000]
    wire = text_frames(texts)
    ends = [len(text_frames(texts[: n + 1])) for n in range(len(texts))]
    for cut in [0, 1, 2, 3, 4, 5, ends[0], ends[0] + 3, ends[1] - 1, ends[1], ends[1] + 9]:
        frames, rest = wsraw.parse(wire[:cut])
        assert len(frames) == sum(end <= cut for end in ends)
        assert len(text_frames(texts[: len(frames)])) + len(rest) == cut


@given(st.lists(st.text(max_size=300), max_size=20))
def test_any_batch_reads_back_as_its_texts(texts: list[str]) -> None:
    assert aiohttp_reads(text_frames(texts)) == texts


@given(st.lists(st.text(max_size=40), min_size=1, max_size=8), st.integers(1, 64))
def test_a_batch_fed_in_pieces_reads_back_as_its_texts(texts: list[str], piece: int) -> None:
    """aiohttp's reader takes what TCP gives it, in any pieces."""
    wire = text_frames(texts)
    assert aiohttp_reads(*(wire[n : n + piece] for n in range(0, len(wire), piece))) == texts


def test_a_long_frame_reads_back_whole() -> None:
    texts = ["ü" * 40000, "x" * 70000]  # 80,000 and 70,000 bytes: 64-bit lengths
    assert aiohttp_reads(text_frames(texts)) == texts
    assert struct.unpack("!Q", text_frame(texts[1])[2:10]) == (70000,)


class _Protocol:
    """What aiohttp's queue asks of a connection: whether to pause reading."""

    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def aiohttp_reads(*pieces: bytes) -> list[str]:
    """The texts aiohttp's WebSocket reader (as a client uses it) finds in `pieces`."""

    async def read() -> list[str]:
        protocol: Any = _Protocol()
        data = WebSocketDataQueue(protocol, 2**20, loop=asyncio.get_running_loop())
        reader = WebSocketReader(data, 0, compress=False, decode_text=True)
        for piece in pieces:
            failed, _ = reader.feed_data(piece)
            assert not failed
        reader.feed_eof()
        texts: list[str] = []
        while True:
            try:
                message = await data.read()
            except aiohttp.EofStream:
                return texts
            assert message.type == aiohttp.WSMsgType.TEXT, message
            texts.append(message.data)

    return asyncio.run(read())
