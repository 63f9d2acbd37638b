"""The table's fast reading of header blocks agrees with the email package's full parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.store.read.message import view
from postier.store.read.scan import StoredMessage
from postier.store.read.summary import decode_header, fields, parse_date, summarize
from tests.store_read.helpers import html_only, plain, wire_bytes, with_attachments


def stored(data: bytes) -> StoredMessage:
    return StoredMessage(data=data, quoted=False, filed=datetime(2026, 1, 1, tzinfo=UTC))


def test_fields_take_the_first_of_each_and_unfold() -> None:
    head = (
        b"Delivered-To: alice@example.org\nfrom: A <a@b>\nSUBJECT: a long\n\tfolded  subject\n"
        b"Subject: second\nX-From: nope\n"
    )
    assert fields(head) == {
        "delivered-to": "alice@example.org",
        "from": "A <a@b>",
        "subject": "a long\tfolded  subject",
    }


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?utf-8?q?caf=C3=A9?= au lait", "café au lait"),
        ("=?UTF-8?B?5pel5pys6Kqe?=", "日本語"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=  c", "ab c"),
        ("=?iso-8859-1?q?=E9t=E9_chaud?=", "été chaud"),
        ("=?utf-8*fr?q?d=C3=A9j=C3=A0?=", "déjà"),
        ("=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="),
        ("plain   spaced\ttext", "plain spaced text"),
    ],
)
def test_encoded_words_are_decoded(raw: str, text: str) -> None:
    assert decode_header("subject", raw) == text
    if "unknown" not in raw:  # the email package agrees
        assert " ".join(str(policy.default.header_factory("subject", raw)).split()) == text


@settings(max_examples=200, deadline=None)
@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    offset=st.integers(-14 * 60, 14 * 60),
)
def test_fast_dates_agree_with_the_email_package(when: datetime, offset: int) -> None:
    value = format_datetime(
        when.astimezone(timezone(timedelta(minutes=offset))).replace(microsecond=0)
    )
    assert parse_date(value) == parsedate_to_datetime(value)
    assert parse_date(value + " (CET)") == parsedate_to_datetime(value)


@pytest.mark.parametrize(
    "value",
    ["27 Nov 2026 02:23 +0100", "Thu, 27 Nov 26 02:23:09 GMT", "Thu, 27 Nov 2026 02:23:09 -0000"],
)
def test_unusual_dates_go_to_the_email_package(value: str) -> None:
    date = parse_date(value)
    assert date is not None and date.tzinfo is not None
    assert date.replace(tzinfo=None) == parsedate_to_datetime(value).replace(tzinfo=None)


def test_bad_or_missing_dates_fall_back_to_the_delivery_time() -> None:
    assert parse_date("not a date") is None
    assert parse_date(None) is None
    row = summarize(stored(b"Date: garbage\nSubject: s\n\nbody\n"))
    assert row.date == datetime(2026, 1, 1, tzinfo=UTC)


def test_summary_of_a_message_with_attachments() -> None:
    raw = b"Delivered-To: alice@example.org\n" + wire_bytes(with_attachments()).replace(
        b"\r\n", b"\n"
    )
    row = summarize(stored(raw))
    assert row.attachments == 2
    assert row.subject == "Invoice"
    assert row.sender == "Sender <sender@example.com>"
    assert row.delivered_to == "alice@example.org"
    assert row.date == datetime(2026, 11, 27, 3, 23, 9, tzinfo=timezone(timedelta(hours=1)))
    assert summarize(stored(wire_bytes(html_only()).replace(b"\r\n", b"\n"))).attachments == 0
    assert summarize(stored(wire_bytes(plain()).replace(b"\r\n", b"\n"))).attachments == 0


# -- attachment counts: the fast path against the full parse -------------------------

leaf_types = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "application/pdf",
        "image/png",
        "message/rfc822",
        "text/calendar",
        None,
    ]
)
dispositions = st.sampled_from([None, "inline", "attachment", "ATTACHMENT"])
names = st.sampled_from([None, 'filename="a.txt"', "filename*=utf-8''r%C3%A9sum%C3%A9.pdf"])
type_names = st.sampled_from([None, 'name="n.bin"', "charset=utf-8"])


@st.composite
def leaves(draw: st.DrawFn) -> bytes:
    kind = draw(leaf_types)
    disposition = draw(dispositions)
    name = draw(names)
    head = b""
    if kind is not None:
        extra = draw(type_names)
        head += f"Content-Type: {kind}{'; ' + extra if extra else ''}\n".encode()
    if disposition is not None:
        head += f"Content-Disposition: {disposition}{'; ' + name if name else ''}\n".encode()
    body = b"Subject: inner\n\ninner body\n" if kind == "message/rfc822" else b"some content\n"
    return head + b"\n" + body


def multiparts(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "digest"]))
        boundary = f"b{draw(st.integers(0, 10**9))}"
        quoted = draw(st.booleans())
        parts = draw(st.lists(children, max_size=4))
        padding = draw(st.sampled_from(["", "  ", "\t"]))
        closed = draw(st.booleans())
        value = f'"{boundary}"' if quoted else boundary
        out = f"Content-Type: multipart/{subtype}; boundary={value}\n\npreamble\n".encode()
        for part in parts:
            out += f"--{boundary}{padding}\n".encode() + part + b"\n"
        if closed:
            out += f"--{boundary}--\nepilogue\n".encode()
        return out

    return build()


trees = st.recursive(leaves(), multiparts, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(tree=trees)
def test_fast_attachment_count_agrees_with_the_full_view(tree: bytes) -> None:
    data = b"Delivered-To: a@b\nSubject: t\n" + tree
    message = stored(data)
    assert summarize(message).attachments == len(view(1, message).attachments)
