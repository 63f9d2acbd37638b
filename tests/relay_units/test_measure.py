"""`relay/measure.py`: the size SIZE announces (RFC 1870 §3: CRLF line endings, before
dot-stuffing) and whether the data is 8-bit, learnt while the chunks pass through."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.relay.measure import Measured

MEASURES: list[tuple[str, list[bytes], int, bool]] = [
    # name, chunks, size, eight_bit
    ("nothing", [], 0, False),
    ("one empty chunk", [b""], 0, False),
    ("pure ASCII", [b"Subject: hi\r\n\r\nhello\r\n"], 22, False),
    ("every ASCII byte", [bytes(range(0x20, 0x7F))], 95, False),
    ("0x80 at the start", [b"\x80bc\r\n"], 5, True),
    ("0x80 in the middle", [b"ab\x80c\r\n"], 6, True),
    ("0x80 at the end", [b"abc\r\n\x80"], 6, True),
    ("0xff alone", [b"\xff"], 1, True),
    ("0x80 in a later chunk", [b"abc\r\n", b"", b"def\x80"], 9, True),
    ("0x7f is ASCII", [b"\x7f"], 1, False),
    ("UTF-8", ["caf\u00e9\r\n".encode()], 7, True),
    ("bare LF counts as CRLF", [b"a\nb\n"], 6, False),
    ("bare CR counts as CRLF", [b"a\rb\r"], 6, False),
    ("CR CR LF", [b"\r\r\n"], 4, False),
    ("LF CR", [b"\n\r"], 4, False),
    ("CRLF split over two chunks", [b"a\r", b"\nb"], 4, False),
    ("CRLF split over an empty chunk", [b"a\r", b"", b"\nb"], 4, False),
    ("CR at a chunk's end, not a CRLF", [b"a\r", b"b"], 4, False),
    ("CR then CR LF over chunks", [b"\r", b"\r\n"], 4, False),
    ("dots are not stuffed in SIZE", [b".\r\n..\r\n"], 7, False),
]


@pytest.mark.parametrize(
    ("chunks", "size", "eight_bit"),
    [m[1:] for m in MEASURES],
    ids=[m[0] for m in MEASURES],
)
def test_measured_counts(chunks: list[bytes], size: int, eight_bit: bool) -> None:
    measured = Measured(chunks)
    assert list(measured) == chunks  # passed through as they came
    assert (measured.size, measured.eight_bit) == (size, eight_bit)


def test_nothing_is_counted_before_the_chunks_are_read() -> None:
    measured = Measured([b"\x80abc"])
    assert (measured.size, measured.eight_bit) == (0, False)


def _reference_size(data: bytes) -> int:
    """Independent: every line ending made CRLF, as the client sends it."""
    return len(re.sub(rb"\r\n|\r|\n", b"\r\n", data))


@settings(deadline=None)  # a loaded machine must not fail it
@given(
    st.binary(max_size=60).flatmap(
        lambda data: st.tuples(
            st.just(data), st.lists(st.integers(0, len(data)), max_size=6).map(sorted)
        )
    )
)
def test_any_split_counts_as_the_whole(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    bounds = [0, *cuts, len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    measured = Measured(chunks)
    assert b"".join(measured) == data
    assert measured.size == _reference_size(data)
    assert measured.eight_bit == (not data.isascii())


@settings(deadline=None)  # a loaded machine must not fail it
@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b".", b"\x80", b""]), max_size=30))
def test_line_endings_split_anywhere(pieces: list[bytes]) -> None:
    measured = Measured(pieces)
    list(measured)
    joined = b"".join(pieces)
    assert measured.size == _reference_size(joined)
    assert measured.eight_bit == (b"\x80" in joined)
