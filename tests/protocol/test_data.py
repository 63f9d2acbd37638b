"""Message data both ways: dot-stuffing for the wire and the decoder that undoes it."""

from __future__ import annotations

import pytest

from postier.protocol.smtp.data import DataDecoder, DotStuffer, dot_stuff

# (message as given, its wire form, the message as the receiver gets it)
BOTH_WAYS = [
    (b"", b".\r\n", b""),
    (b"a", b"a\r\n.\r\n", b"a\r\n"),
    (b"a\r\n", b"a\r\n.\r\n", b"a\r\n"),
    (b".", b"..\r\n.\r\n", b".\r\n"),
    (b".\r\n", b"..\r\n.\r\n", b".\r\n"),
    (b"..", b"...\r\n.\r\n", b"..\r\n"),
    (b"a\r\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n"),
    (b"a\n.b\n", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
    (b"a\r.b", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
    (b"\r\n", b"\r\n.\r\n", b"\r\n"),
    (b"\n\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
    (b"\r", b"\r\n.\r\n", b"\r\n"),
    (b"a.b\r\n", b"a.b\r\n.\r\n", b"a.b\r\n"),
    (b"caf\xc3\xa9\x00\xff", b"caf\xc3\xa9\x00\xff\r\n.\r\n", b"caf\xc3\xa9\x00\xff\r\n"),
]


def decode(wire: bytes, decoder: DataDecoder | None = None) -> tuple[bytes, int]:
    decoder = decoder or DataDecoder(1 << 20, 1000)
    result = decoder.feed(wire)
    assert result.finished
    return b"".join(result.pieces), result.consumed


@pytest.mark.parametrize(("message", "wire", "received"), BOTH_WAYS)
def test_dot_stuff(message: bytes, wire: bytes, received: bytes) -> None:
    assert dot_stuff(message) == wire


@pytest.mark.parametrize(("message", "wire", "received"), BOTH_WAYS)
def test_decode(message: bytes, wire: bytes, received: bytes) -> None:
    assert decode(wire) == (received, len(wire))


@pytest.mark.parametrize(("message", "wire", "received"), BOTH_WAYS)
def test_stuff_in_pieces(message: bytes, wire: bytes, received: bytes) -> None:
    stuffer = DotStuffer()
    out = b"".join(stuffer.feed(message[i : i + 1]) for i in range(len(message)))
    assert out + stuffer.end() == wire


@pytest.mark.parametrize(("message", "wire", "received"), BOTH_WAYS)
def test_decode_in_pieces(message: bytes, wire: bytes, received: bytes) -> None:
    decoder = DataDecoder(1 << 20, 1000)
    pieces = []
    for i in range(len(wire)):
        result = decoder.feed(wire[i : i + 1])
        pieces += result.pieces
        assert result.finished == (i == len(wire) - 1)
        assert result.consumed == 1
    assert b"".join(pieces) == received


# Only <CRLF>.<CRLF> ends the data (RFC 5321 §4.1.1.4); these never do.
NOT_AN_END = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r", b"\r\n. \r\n"]


@pytest.mark.parametrize("fake", NOT_AN_END)
def test_fake_ends_do_not_end(fake: bytes) -> None:
    decoder = DataDecoder(1 << 20, 1000)
    result = decoder.feed(b"hello" + fake + b"MAIL FROM:<evil@x.test>")
    assert not result.finished
    assert result.consumed == len(b"hello" + fake + b"MAIL FROM:<evil@x.test>")
    text, _ = decode(b"\r\n.\r\n", decoder)
    assert b"MAIL FROM:<evil@x.test>" in b"".join(result.pieces) + text


def test_data_after_the_end_is_not_consumed() -> None:
    decoder = DataDecoder(1 << 20, 1000)
    result = decoder.feed(b"a\r\n.\r\nQUIT\r\n")
    assert result.finished
    assert result.consumed == 6
    assert result.pieces == [b"a\r\n"]


def test_the_data_command_crlf_counts_as_the_line_before() -> None:
    decoder = DataDecoder(1 << 20, 1000)
    assert decoder.feed(b".\r\nQUIT\r\n").consumed == 3
    assert decoder.size == 0


@pytest.mark.parametrize(
    ("data", "too_long"),
    [
        (b"x" * 998 + b"\r\n", False),
        (b"x" * 999 + b"\r\n", True),
        (b"a\r\n" + b"x" * 998 + b"\r\nb\r\n", False),
        (b"a\r\n" + b"x" * 999 + b"\r\nb\r\n", True),
        (b"a\r\nb\r\n" + b"x" * 999 + b"\r\nc\r\nd\r\n", True),
        (b"x" * 999 + b"\n", False),  # a bare LF is no line end, but 999 octets + LF fit
        (b"x" * 1000 + b"\n", True),
        (b"x" * 600 + b"\r" + b"x" * 600 + b"\r\n", True),
        (b".." + b"x" * 997 + b"\r\n", False),  # 998 once unstuffed
    ],
    ids=lambda value: f"{len(value)}" if isinstance(value, bytes) else None,
)
def test_line_limit(data: bytes, too_long: bool) -> None:
    for split in (len(data), 1, 7, 500):
        decoder = DataDecoder(1 << 20, 1000)
        for i in range(0, len(data), split):
            decoder.feed(data[i : i + split])
        assert decoder.feed(b"\r\n.\r\n").finished
        assert decoder.line_too_long is too_long, split


@pytest.mark.parametrize("limit", [0, 1, 50, 99, 100, 101, 2000])
def test_size_limit(limit: int) -> None:
    message = b"x" * 98 + b"\r\n"
    for split in (len(message), 1, 3, 10):
        decoder = DataDecoder(limit, 1000)
        pieces = []
        for i in range(0, len(message), split):
            pieces += decoder.feed(message[i : i + split]).pieces
        end = decoder.feed(b".\r\n")
        pieces += end.pieces
        assert end.finished
        assert decoder.size == 100
        assert decoder.too_big is (limit < 100)
        assert b"".join(pieces) == message[:limit], "exactly the octets within the limit"


def test_stuffer_end_closes_an_open_line() -> None:
    stuffer = DotStuffer()
    assert stuffer.feed(b"abc") == b"abc"
    assert stuffer.end() == b"\r\n.\r\n"
    stuffer = DotStuffer()
    assert stuffer.feed(b"abc\r") == b"abc"
    assert stuffer.end() == b"\r\n.\r\n"
