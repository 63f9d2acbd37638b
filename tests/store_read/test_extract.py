"""The index's record of a message: a table of messages as mailers write them, checked
field by field, and arbitrary bytes, which must give a record SQLite can store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postier.store.read.extract import SNIPPET_LENGTH, Extracted, extract
from postier.store.read.html2text import html_to_text
from postier.store.read.message import view
from postier.store.read.scan import StoredMessage
from postier.store.read.summary import summarize

TRACE = (
    b"Return-Path: <shop@example.com>\nDelivered-To: alice@example.org\n"
    b"Received: from client.example.com\n\tby mx.example.org; Fri, 27 Nov 2026 03:23:09 +0100\n"
)
HEAD = (
    b"From: Example Shop <shop@example.com>\nTo: Alice <alice@example.org>\n"
    b"Subject: Your order\nDate: Fri, 27 Nov 2026 03:23:09 +0100\nMessage-ID: <m1@example.com>\n"
    b"MIME-Version: 1.0\n"
)
PDF_BASE64 = b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\n"
HTML = "<html><head><title>t</title></head><body><p>Hello <b>Alice</b>,</p><p>Bye.</p></body>"
PARIS = timezone(timedelta(hours=1))


def multipart(kind: str, boundary: str, *parts: bytes) -> bytes:
    """A multipart body with its Content-Type line, each part already with its headers."""
    mark = b"--" + boundary.encode()
    body = b"".join(mark + b"\n" + part + b"\n" for part in parts) + mark + b"--\n"
    return f'Content-Type: multipart/{kind}; boundary="{boundary}"\n\n'.encode() + body


PLAIN_PART = b"Content-Type: text/plain; charset=utf-8\n\nHello Alice,\nyour parcel left.\n"
HTML_PART = b"Content-Type: text/html; charset=utf-8\n\n" + HTML.encode()
IMAGE_PART = (
    b"Content-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <logo>\n\niVBORw0K\n"
)
PDF_PART = (
    b'Content-Type: application/pdf; name="invoice.pdf"\nContent-Transfer-Encoding: base64\n'
    b'Content-Disposition: attachment; filename="invoice.pdf"\n\n' + PDF_BASE64
)
HELLO = "Hello Alice,\nyour parcel left.\n"

CASES: list[tuple[str, bytes, dict[str, Any]]] = [
    (
        "plain",
        TRACE + HEAD + b"Content-Type: text/plain; charset=us-ascii\n\nHello Alice,\n\n  bye.\n",
        {
            "sender": "Example Shop <shop@example.com>",
            "from_address": "shop@example.com",
            "to": ("Alice <alice@example.org>",),
            "cc": (),
            "subject": "Your order",
            "message_id": "<m1@example.com>",
            "date": datetime(2026, 11, 27, 3, 23, 9, tzinfo=PARIS),
            "delivered_to": "alice@example.org",
            "attachments": 0,
            "text": "Hello Alice,\n\n  bye.\n",
            "snippet": "Hello Alice, bye.",
        },
    ),
    (
        "quoted-printable latin-1",
        HEAD + b"Content-Type: text/plain; charset=ISO-8859-1\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"Caf=E9 cr=E8me, a long line wh=\nich goes on.\n",
        {"text": "Café crème, a long line which goes on.\n", "delivered_to": None},
    ),
    (
        "base64 utf-8",
        HEAD + b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b"SsOpcsO0bWUg\nw6AgUGFyaXMK\n",
        {"text": "Jérôme à Paris\n", "snippet": "Jérôme à Paris"},
    ),
    (
        "RFC 2047 headers",
        b"From: =?utf-8?q?J=C3=A9r=C3=B4me_Martin?= <jerome@example.fr>\n"
        b"To: =?iso-8859-1?q?Ren=E9e?= <renee@example.fr>, bob@example.com\n"
        b"Cc: =?utf-8?b?5pel5pys?= <nihon@example.jp>\n"
        b"Subject: =?utf-8?q?Caf=C3=A9?=\n =?utf-8?q?_cr=C3=A8me?=   et  sucre\n\nHi\n",
        {
            "sender": "Jérôme Martin <jerome@example.fr>",
            "from_address": "jerome@example.fr",
            "to": ("Renée <renee@example.fr>", "bob@example.com"),
            "cc": ("日本 <nihon@example.jp>",),
            "subject": "Café crème et sucre",
        },
    ),
    (
        "RFC 6532 headers",
        'From: Jérôme <jérôme@exemple.fr>\nTo: "Zoë, Ünal" <zoe@example.org>\n'
        "Subject: Réunion   à 10h\n\nBonjour\n".encode(),
        {
            "sender": "Jérôme <jérôme@exemple.fr>",
            "from_address": "jérôme@exemple.fr",
            "to": ('"Zoë, Ünal" <zoe@example.org>',),
            "subject": "Réunion à 10h",
        },
    ),
    (
        "multipart/alternative",
        HEAD + multipart("alternative", "b1", PLAIN_PART, HTML_PART),
        {"attachments": 0, "text": HELLO, "snippet": "Hello Alice, your parcel left."},
    ),
    (
        "HTML only",
        HEAD + b"Content-Type: text/html; charset=utf-8\n\n" + HTML.encode(),
        {"text": html_to_text(HTML), "snippet": "Hello Alice, Bye."},
    ),
    (
        "mixed with an attachment",
        HEAD + multipart("mixed", "b1", PLAIN_PART, PDF_PART),
        {"attachments": 1, "text": HELLO},
    ),
    (
        "inline image beside the HTML",
        HEAD + multipart("related", "b1", HTML_PART, IMAGE_PART),
        {"attachments": 1, "text": html_to_text(HTML)},
    ),
    (
        "nested multiparts",
        HEAD
        + multipart(
            "mixed",
            "outer",
            multipart(
                "alternative",
                "middle",
                PLAIN_PART,
                multipart("related", "in", HTML_PART, IMAGE_PART),
            ),
            PDF_PART,
            b"Content-Type: text/plain\nContent-Disposition: inline\n\nPS: see you.",
        ),
        {
            "attachments": 2,
            "text": HELLO + "\nPS: see you.",
            "snippet": "Hello Alice, your parcel left. PS: see you.",
        },
    ),
    (
        "a forwarded message is one attachment, not text",
        HEAD
        + multipart(
            "mixed", "b1", PLAIN_PART, b"Content-Type: message/rfc822\n\n" + HEAD + b"\nInner"
        ),
        {"attachments": 1, "text": HELLO},
    ),
    (
        "boundary never found",
        HEAD + b'Content-Type: multipart/mixed; boundary="nowhere"\n\n--elsewhere\n\nHello\n',
        {"attachments": 1, "text": "", "snippet": ""},
    ),
    (
        "closing boundary missing",
        HEAD + multipart("mixed", "b1", PLAIN_PART, PDF_PART).removesuffix(b"--b1--\n"),
        {"attachments": 1, "text": HELLO},
    ),
    (
        "missing headers",
        b"X-Mailer: nothing\n\nJust a body.\n",
        {
            "sender": "",
            "from_address": "",
            "to": (),
            "subject": "",
            "message_id": "",
            "date": None,
            "delivered_to": None,
            "text": "Just a body.\n",
        },
    ),
    (
        "empty message",
        b"",
        {"sender": "", "to": (), "attachments": 0, "text": "", "snippet": "", "date": None},
    ),
    (
        "headers only",
        b"From: a@example.com\nSubject: only\n",
        {"sender": "a@example.com", "subject": "only", "text": "", "snippet": ""},
    ),
    (
        "several Cc fields, a group and an empty path",
        b"From: <>\nTo: undisclosed-recipients:;\nCc: a@example.com\nCc: B <b@example.com>\n\nx",
        {"from_address": "", "to": (), "cc": ("a@example.com", "B <b@example.com>")},
    ),
    (
        "RFC 2231 charset and an unknown one",
        HEAD
        + multipart(
            "mixed",
            "b1",
            b"Content-Type: text/plain; charset*=iso-8859-1''iso-8859-1\n\nd\xe9j\xe0",
            b"Content-Type: text/plain; charset=x-unknown\n\nd\xc3\xa9j\xe0",
        ),
        {"text": "déjà\ndéj\ufffd"},
    ),
    (
        "a snippet is cut",
        HEAD + b"\n" + b"word \n\t " * 100,
        {"snippet": ("word " * 50).strip()},
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_field(raw: bytes, expected: dict[str, Any]) -> None:
    record = extract(raw)
    for name, value in expected.items():
        assert getattr(record, name) == value, name


@pytest.mark.parametrize("raw", [case[1] for case in CASES], ids=[c[0] for c in CASES])
def test_the_table_agrees_with_the_full_view(raw: bytes) -> None:
    record = extract(raw)
    full = view(1, StoredMessage(raw, quoted=False))
    assert record.sender == full.sender
    assert [entry.rpartition("<")[2].rstrip(">") for entry in record.to] == full.to
    assert [entry.rpartition("<")[2].rstrip(">") for entry in record.cc] == full.cc
    assert record.from_address == full.from_address
    assert record.subject == full.subject
    assert record.date == full.date
    assert record.attachments == len(full.attachments)


def test_an_html_alternative_beside_plain_text_is_not_rendered() -> None:
    """RFC 2046 §5.1.4: the alternatives say the same; only the plain one is indexed."""
    raw = HEAD + multipart("alternative", "b1", HTML_PART, PLAIN_PART)
    assert extract(raw).text == HELLO
    raw = HEAD + multipart("mixed", "b1", PLAIN_PART, HTML_PART)  # not alternatives
    assert extract(raw).text == HELLO + "\n" + html_to_text(HTML)


def test_a_whitespace_only_text_gives_way_to_the_html_in_the_snippet() -> None:
    raw = HEAD + multipart("mixed", "b1", b"Content-Type: text/plain\n\n \n", HTML_PART)
    assert extract(raw).snippet == "Hello Alice, Bye."


def test_broken_base64_is_never_shown_encoded() -> None:
    raw = HEAD + b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8hI"
    assert extract(raw).text == "Hello!"  # the last, incomplete character dropped


def test_uuencoded_text_is_decoded() -> None:
    raw = (
        HEAD + b"Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n"
        b"begin 644 a.txt\n&2&5L;&\\*\n`\nend\n"
    )
    assert extract(raw).text == "Hello\n"


def test_codecs_that_make_lone_surrogates_give_replacement_characters() -> None:
    raw = (
        b"Subject: =?utf-7?q?+2AA-?=\nFrom: =?utf-7?q?+2AA-?= <a@b.example>\n"
        b"Content-Type: text/plain; charset=utf-7\n\n+2AA- and +2D3eAQ-"
    )
    record = extract(raw)
    assert record.subject == "\ufffd"
    assert record.sender == "\ufffd <a@b.example>"
    assert record.text == "\ufffd and \U0001f601"


def stored(raw: bytes) -> StoredMessage:
    return StoredMessage(raw, quoted=False, filed=datetime(2026, 1, 1, tzinfo=UTC))


def assert_storable(record: Extracted) -> None:
    for name in Extracted.__slots__:
        value = getattr(record, name)
        for text in value if isinstance(value, tuple) else [value]:
            if isinstance(text, str):
                text.encode("utf-8")  # no lone surrogate


header_names = st.sampled_from(
    [
        "From",
        "To",
        "cc",
        "Subject",
        "Date",
        "Message-ID",
        "Delivered-To",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "X-Other",
    ]
)
header_values = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"multipart/mixed; boundary=b",
            b'multipart/alternative; boundary="b"',
            b"text/html; charset=utf-7",
            b"text/plain; charset*=utf-8''latin-1",
            b"base64",
            b"quoted-printable",
            b"attachment; filename=a.txt",
            b"=?utf-8?q?=C3=A9?= <a@b>",
            b"=?utf-16?b?2AA=?=",
        ]
    ),
)
messages = st.lists(
    st.one_of(
        st.builds(lambda n, v: n.encode() + b": " + v + b"\n", header_names, header_values),
        st.sampled_from([b"\n", b"--b\n", b"--b--\n", b"<p>x</p>", b"=E9\n", b"SGk=\n"]),
        st.binary(max_size=30),
    ),
    max_size=20,
).map(b"".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_any_bytes_give_a_storable_record(raw: bytes) -> None:
    record = extract(raw)
    assert_storable(record)
    assert len(record.snippet) <= SNIPPET_LENGTH
    assert record.snippet == record.snippet.strip()
    assert "  " not in record.snippet
    # The list the index serves is the list the mailbox scan shows.
    copy = stored(raw)
    listed = summarize(copy)
    assert (record.sender, record.subject) == (listed.sender, listed.subject)
    assert record.delivered_to == listed.delivered_to
    assert record.attachments == listed.attachments
    assert (record.date or copy.delivered) == listed.date


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_a_record(raw: bytes) -> None:
    record = extract(raw)
    assert_storable(record)
    assert len(record.snippet) <= SNIPPET_LENGTH
