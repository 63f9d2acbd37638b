"""The streaming transforms: CRLF to LF, mboxrd quoting, and the `From ` line."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.store import unquote_mboxrd
from postier.store.mboxrd import CrlfToLf, FromQuoter, Transform, from_line, mbox_transform


def run(transform: Transform, pieces: list[bytes]) -> bytes:
    return b"".join(transform.feed(piece) for piece in pieces) + transform.finish()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[start:end] for start, end in itertools.pairwise(points)]


def reference(data: bytes) -> bytes:
    """The same transform written the slow, obvious way: whole input, line by line."""
    text = re.sub(rb"\r\n", b"\n", data)
    lines = text.split(b"\n")
    return b"\n".join(b">" + line if re.match(rb">*From ", line) else line for line in lines)


CASES = [
    (b"", b""),
    (b"a\r\nb\r\n", b"a\nb\n"),
    (b"bare\rcr\r\n", b"bare\rcr\n"),
    (b"\r\r\n", b"\r\n"),
    (b"trailing cr\r", b"trailing cr\r"),
    (b"From me\r\n", b">From me\n"),
    (b"x\r\nFrom me\r\n", b"x\n>From me\n"),
    (b">From me\n", b">>From me\n"),
    (b">>>From x", b">>>>From x"),
    (b"From", b"From"),
    (b"Fro", b"Fro"),
    (b">>", b">>"),
    (b"From:me\n", b"From:me\n"),
    (b"from me\n", b"from me\n"),
    (b" From me\n", b" From me\n"),
    (b"a From me\n", b"a From me\n"),
    (b">x From me\n", b">x From me\n"),
    (b"\nFrom \n", b"\n>From \n"),
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_whole_input(data: bytes, expected: bytes) -> None:
    assert run(mbox_transform(), [data]) == expected
    assert reference(data) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_one_byte_at_a_time(data: bytes, expected: bytes) -> None:
    assert run(mbox_transform(), [data[i : i + 1] for i in range(len(data))]) == expected


# Inputs rich in the bytes that matter, so that splits fall in the interesting places.
interesting = st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b">", b"From ", b"Fro", b"m ", b"x", b" ", b"\xff"]),
    max_size=40,
).map(b"".join)
inputs = st.one_of(st.binary(max_size=200), interesting)


@given(inputs, st.lists(st.integers(min_value=0), max_size=12))
def test_any_split_gives_the_whole_output(data: bytes, cuts: list[int]) -> None:
    assert run(mbox_transform(), split(data, cuts)) == run(mbox_transform(), [data])


@given(inputs)
def test_matches_the_reference(data: bytes) -> None:
    assert run(mbox_transform(), [data]) == reference(data)


@given(inputs, st.lists(st.integers(min_value=0), max_size=12))
def test_line_endings_alone(data: bytes, cuts: list[int]) -> None:
    assert run(CrlfToLf(), split(data, cuts)) == data.replace(b"\r\n", b"\n")


@given(inputs.map(lambda data: data.replace(b"\r", b"")))
def test_unquote_undoes_quote(data: bytes) -> None:
    quoted = run(FromQuoter(), [data])
    assert unquote_mboxrd(quoted) == data
    assert not re.search(rb"(?m)^From ", quoted)


def test_long_run_of_quotes_is_not_held() -> None:
    quoter = FromQuoter()
    assert quoter.feed(b">" * 10_000) == b">" * 10_000
    assert quoter.feed(b"From x\n") == b">From x\n"


NOV27 = datetime(2026, 11, 27, 2, 23, 9, tzinfo=UTC)
PARIS = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("sender", "when", "line"),
    [
        ("a@b", NOV27, b"From a@b Fri Nov 27 02:23:09 2026\n"),
        (
            "",
            datetime(2026, 1, 5, 9, 8, 7, tzinfo=UTC),
            b"From MAILER-DAEMON Mon Jan  5 09:08:07 2026\n",
        ),
        ("a@b", NOV27.astimezone(PARIS), b"From a@b Fri Nov 27 02:23:09 2026\n"),
        ('"a b"@c', NOV27, b'From "a?b"@c Fri Nov 27 02:23:09 2026\n'),
        ("a\r\nb@c", NOV27, b"From a??b@c Fri Nov 27 02:23:09 2026\n"),
    ],
)
def test_from_line(sender: str, when: datetime, line: bytes) -> None:
    assert from_line(sender, when) == line
