"""Byte-stuffing and line ends: whatever the store holds, however it is cut, the wire has
CRLF lines, stuffed dots, one end line, and the exact size LIST announced."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.pop3 import MessageWriter, WireSize, wire_size
from tests.protocol.helpers import examples

PIECES = st.sampled_from([b"\n", b"\r\n", b"\r", b".", b"..", b"From ", b"a", b"\n.\n", b" "])
MESSAGE = st.lists(st.one_of(PIECES, st.binary(max_size=6)), max_size=40).map(b"".join)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """`data` cut at `points` (any, in any order): empty pieces included."""
    edges = sorted({min(max(p, 0), len(data)) for p in points})
    pieces, start = [], 0
    for edge in [*edges, len(data)]:
        pieces.append(data[start:edge])
        start = edge
    return pieces


def crlf(data: bytes) -> bytes:
    """The message with every line ending CRLF and a last one when it had none: what a
    client keeps of it, independently of how the writer does it."""
    lines = data.split(b"\n")
    last = lines.pop()
    out = [line if line.endswith(b"\r") else line + b"\r" for line in lines]
    text = b"\n".join(out) + (b"\n" if out else b"")
    if last:
        text += last + b"\r\n"
    return text


def unstuff(wire: bytes) -> bytes:
    """A client's reading of a multi-line response (RFC 1939 §3), its end line checked."""
    assert wire.endswith(b".\r\n")
    body = wire[:-3]
    assert body == b"" or body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1] if body else []
    for line in lines:
        assert line != b".", "an end line inside the message"
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)


def send(data: bytes, points: list[int], body_lines: int | None = None) -> bytes:
    writer = MessageWriter(body_lines)
    out = b"".join(writer.feed(piece) for piece in cut(data, points))
    return out + writer.end()


@examples(500)
@given(MESSAGE, st.lists(st.integers(0, 200), max_size=8))
def test_the_wire_is_the_message_in_crlf_lines_whatever_the_cuts(
    data: bytes, points: list[int]
) -> None:
    wire = send(data, points)
    assert unstuff(wire) == crlf(data)
    assert b"\n" not in wire.replace(b"\r\n", b"")
    assert wire == send(data, [])


@examples(500)
@given(MESSAGE, st.lists(st.integers(0, 200), max_size=8))
def test_the_size_is_what_is_sent_before_stuffing(data: bytes, points: list[int]) -> None:
    counter = WireSize()
    for piece in cut(data, points):
        counter.feed(piece)
    assert counter.total == len(crlf(data)) == wire_size([data])


@examples(300)
@given(MESSAGE, st.lists(st.integers(0, 200), max_size=8), st.integers(0, 5))
def test_top_is_the_header_block_and_n_lines(data: bytes, points: list[int], n: int) -> None:
    whole = crlf(data)
    head, blank, body = whole.partition(b"\r\n\r\n")
    if whole.startswith(b"\r\n"):
        head, blank, body = b"", b"\r\n", whole[2:]
        expected = b"\r\n" + b"".join(line + b"\r\n" for line in body.split(b"\r\n")[:-1][:n])
    elif not blank:
        expected = whole
    else:
        lines = body.split(b"\r\n")[:-1] if body else []
        expected = head + b"\r\n\r\n" + b"".join(line + b"\r\n" for line in lines[:n])
    assert unstuff(send(data, points, n)) == expected


def test_examples() -> None:
    assert send(b"a\n.b\n..c\n.\n", []) == b"a\r\n..b\r\n...c\r\n..\r\n.\r\n"
    assert send(b"no end", []) == b"no end\r\n.\r\n"
    assert send(b"", []) == b".\r\n"
    assert send(b"a\r", []) == b"a\r\r\n.\r\n"
    assert send(b"a\r\n", [2]) == b"a\r\n.\r\n"
    assert send(b"H: v\n\nl1\nl2\nl3\n", [], 1) == b"H: v\r\n\r\nl1\r\n.\r\n"
    assert send(b"H: v\n\nl1\n", [], 0) == b"H: v\r\n\r\n.\r\n"


def test_top_stops_reading() -> None:
    writer = MessageWriter(1)
    writer.feed(b"H: v\n\nl1\n")
    assert writer.done
    assert writer.feed(b"never sent\n") == b""
