"""Attachments counted over a stream agree with the count over the whole message, however
the message is cut into chunks, for well-made and for malformed MIME alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.store.naming import StoreFormat
from postier.store.read import Reader, streamed
from postier.store.read.extract import Extracted, extract
from postier.store.read.mime import MAX_DEPTH
from postier.store.read.streamed import HEAD_BYTES, AttachmentCounter, extract_streamed
from postier.store.read.summary import count_attachments, fields, header_end
from tests.store_read.helpers import deliver


def whole_count(raw: bytes) -> int:
    """The count `extract` gives, over the message in memory."""
    end = header_end(raw)
    start = end + 1 if raw.startswith(b"\n", end) else end
    return count_attachments(fields(raw[:end]), raw, start)


def streamed_count(raw: bytes, cuts: list[int]) -> int:
    counter = AttachmentCounter()
    last = 0
    for cut in sorted(set(cuts)):
        counter.feed(raw[last:cut])
        last = cut
    counter.feed(raw[last:])
    return counter.close()


def mixed(boundary: str, *parts: str, kind: str = "mixed", close: bool = True) -> str:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    end = f"--{boundary}--\n" if close else ""
    return f"Content-Type: multipart/{kind}; boundary={boundary}\n\n{body}{end}"


PDF = "Content-Type: application/pdf\nContent-Disposition: attachment\n\n%PDF"
TEXT = "Content-Type: text/plain\n\nhello"
NAMED_TEXT = "Content-Type: text/plain; name=notes.txt\n\nnotes"

CASES = [
    ("a text message", "Subject: x\n\nhello\n", 0),
    ("no body at all", "Subject: x\n", 0),
    ("an empty header", "\nbody\n--a\n", 0),
    ("a PDF alone", "Subject: x\n" + PDF, 1),
    ("text and two attachments", mixed("a", TEXT, PDF, NAMED_TEXT), 2),
    ("nested alternative", mixed("a", mixed("b", TEXT, TEXT, kind="alternative"), PDF), 1),
    (
        "the outer boundary ends the inner multipart",
        mixed("a", mixed("b", PDF, close=False), PDF),
        2,
    ),
    ("a multipart closed before any part", mixed("a", PDF) + "", 1),
    ("closed first", "Content-Type: multipart/mixed; boundary=a\n\n--a--\n--a\n" + PDF, 1),
    ("no boundary line", "Content-Type: multipart/mixed; boundary=a\n\nnothing\n", 1),
    ("no boundary parameter", "Content-Type: multipart/mixed\n\n--a\n" + PDF, 1),
    ("a digest's parts are messages", mixed("d", "\nSubject: m\n\nhi", "\nx", kind="digest"), 2),
    ("padding after a boundary", mixed("a", TEXT).replace("--a\n", "--a \t\r\n"), 0),
    ("not padding after a boundary", mixed("a", PDF).replace("--a\n", "--ab\n", 1), 1),
    ("a part with no body", mixed("a", "Content-Type: image/png", TEXT), 1),
    ("CRLF line endings", mixed("a", TEXT, PDF).replace("\n", "\r\n"), 1),
    ("an epilogue", mixed("a", PDF) + "--a\n" + PDF, 1),
    ("an inner multipart with the outer's boundary", mixed("a", mixed("a", "x")[:-6], PDF), 2),
]


@pytest.mark.parametrize(("raw", "expected"), [(raw, n) for _, raw, n in CASES],
                         ids=[name for name, _, _ in CASES])  # fmt: skip
def test_counts_as_the_whole_message_does(raw: str, expected: int) -> None:
    data = raw.encode()
    assert whole_count(data) == expected
    for size in (1, 2, 3, 7, len(data) + 1):
        assert streamed_count(data, list(range(0, len(data), size))) == expected


def test_nesting_deeper_than_the_limit_is_one_part() -> None:
    raw = PDF
    for depth in range(MAX_DEPTH + 2):
        raw = mixed(f"b{depth}", raw)
    data = raw.encode()
    assert streamed_count(data, [5, 50, 500]) == whole_count(data)


def test_an_attachment_past_the_head_is_counted() -> None:
    text = "Content-Type: text/plain\n\n" + "word " * (HEAD_BYTES // 4)
    data = ("Subject: large\n" + mixed("a", text, PDF, PDF)).encode()
    head = data[:HEAD_BYTES]
    assert extract(head).attachments == 0  # both PDFs lie past the head
    found, size = extract_streamed(head, (data[i : i + 65536] for i in range(0, len(data), 65536)))
    assert (found.attachments, size) == (2, len(data))
    assert found.subject == "large"
    assert found.snippet.startswith("word word")


def test_a_line_longer_than_any_boundary_line_is_skipped() -> None:
    data = mixed("a", TEXT, "Content-Type: text/plain\n\n" + "x" * 200_000, PDF).encode()
    assert streamed_count(data, list(range(0, len(data), 4096))) == whole_count(data) == 1


LINES = st.sampled_from(
    [
        "--a", "--a--", "--b", "--b--", "--a  ", "--a--x", "--ab", "-", "--", "",
        "Content-Type: multipart/mixed; boundary=a",
        "Content-Type: multipart/alternative; boundary=b",
        "Content-Type: multipart/digest; boundary=b",
        "Content-Type: multipart/related; boundary=\"a\"",
        "Content-Type: application/pdf",
        "Content-Type: text/plain; name=x.txt",
        "Content-Type: text/html",
        "Content-Type: message/rfc822",
        "Content-Disposition: attachment",
        "Content-Disposition: inline",
        "Subject: hello",
        "text of a body",
        "--a\r", "\r",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(LINES, max_size=40),
    st.booleans(),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_sequence_of_lines_cut_anywhere(
    lines: list[str], final_lf: bool, cuts: list[int]
) -> None:
    raw = "\n".join(lines) + ("\n" if final_lf else "")
    data = raw.encode()
    assert streamed_count(data, [cut for cut in cuts if cut <= len(data)]) == whole_count(data)


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_the_index_reads_a_large_message_without_holding_it(
    store: Path, fmt: StoreFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `From ` lines in the body are quoted in an mbox: the size is that of the message.
    text = "Content-Type: text/plain\n\n" + "From here on, words.\n" * 150_000
    big = ("Subject: large\nFrom: a@example.org\n" + mixed("a", text, PDF, PDF)).encode()
    small = b"Subject: small\n\nhello\n"
    deliver(store, fmt, [small, big, small])
    largest: list[int] = []
    real = streamed.extract

    def watched(raw: bytes) -> Extracted:
        largest.append(len(raw))
        return real(raw)

    monkeypatch.setattr(streamed, "extract", watched)
    with Reader(store, fsync=False) as reader:
        page = reader.messages()
        summaries = {summary.subject: summary for summary in page.messages}
        large = summaries["large"]
        assert (large.attachments, large.snippet[:10]) == (2, "From here ")
        assert large.size == len(reader.read_bytes(large.id))
        assert reader.read_bytes(large.id).endswith(big.replace(b"\r\n", b"\n"))
        assert len(page.messages) == 3
        assert reader.messages(query="words").total == 1
    assert largest and max(largest) <= HEAD_BYTES
