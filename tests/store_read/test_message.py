"""One message in full: the readable parts, the JSON object, and malformed mail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.store.read.message import view
from postier.store.read.scan import StoredMessage
from tests.store_read.helpers import PDF, html_only, plain, wire_bytes, with_attachments

TRACE = b"Return-Path: <sender@example.com>\nDelivered-To: alice@example.org\n"
JSON_KEYS = {
    "index", "from", "to", "cc", "subject", "date", "size", "message_id",
    "raw", "raw_base64", "text", "html", "attachments",
}  # fmt: skip


def stored(data: bytes) -> StoredMessage:
    return StoredMessage(data=data, quoted=False, filed=datetime(2026, 1, 1, tzinfo=UTC))


def lf(message: object) -> bytes:
    return TRACE + wire_bytes(message).replace(b"\r\n", b"\n")  # type: ignore[arg-type]


def test_a_message_with_attachments() -> None:
    data = lf(with_attachments())
    message = view(3, stored(data))
    assert message.plain == "See the attachments.\n"
    assert message.html == "<p>See the <b>attachments</b>.</p>\n"
    assert [(a.name, a.type, a.size) for a in message.attachments] == [
        ("invoice.pdf", "application/pdf", len(PDF)),
        ("notés.txt", "text/plain", len("notes: é\n".encode())),
    ]
    assert message.attachments[0].content() == PDF
    document = message.to_json()
    assert set(document) == JSON_KEYS
    assert document["index"] == 3
    assert document["from"] == "sender@example.com"
    assert document["to"] == ["alice@example.org"]
    assert document["cc"] == []
    assert document["date"] == "2026-11-27T03:23:09+01:00"
    assert document["message_id"] == "<m1@example.com>"
    assert base64.b64decode(document["raw_base64"]) == data
    assert document["raw"].startswith("Return-Path: <sender@example.com>\nDelivered-To:")
    assert document["size"] == len(data)
    assert document["attachments"][0] == {
        "name": "invoice.pdf",
        "type": "application/pdf",
        "size": len(PDF),
    }
    json.dumps(document)  # serialisable as it is


def test_an_html_only_message_is_read_as_text() -> None:
    message = view(1, stored(lf(html_only())))
    assert message.plain is None
    assert message.html is not None and "<h1>News</h1>" in message.html
    assert message.text == "News\n\nRead the news (https://example.com/news)."
    assert message.to_json()["text"] == message.text
    assert message.attachments == []


def test_unicode_headers_and_addresses() -> None:
    data = (
        TRACE.decode()
        + "From: Jérôme <jérôme@exemple.fr>\nTo: 用户@例子.广告, Bob <bob@example.org>\n"
        "Cc: =?utf-8?q?Z=C3=B6e?= <zoe@example.org>\nSubject: =?utf-8?b?5pel5pys6Kqe?= ok\n"
        "Date: Thu, 27 Nov 2026 02:23:09 -0500\n\nbody é\n"
    ).encode()
    message = view(1, stored(data))
    assert message.sender == "Jérôme <jérôme@exemple.fr>"
    assert message.from_address == "jérôme@exemple.fr"
    assert message.to == ["用户@例子.广告", "bob@example.org"]
    assert message.cc == ["zoe@example.org"]
    assert message.subject == "日本語 ok"
    assert message.date == datetime(2026, 11, 27, 2, 23, 9, tzinfo=timezone(timedelta(hours=-5)))
    assert message.plain == "body é\n"
    assert json.loads(json.dumps(message.to_json()))["to"][0] == "用户@例子.广告"


def test_a_forwarded_message_is_one_attachment() -> None:
    outer = plain("Fwd")
    outer.add_attachment(plain("inner"))
    message = view(1, stored(lf(outer)))
    [attachment] = message.attachments
    assert attachment.type == "message/rfc822"
    assert b"Subject: inner" in attachment.content()


def test_unknown_charsets_and_missing_dates_still_read() -> None:
    data = TRACE + b"Subject: x\nContent-Type: text/plain; charset=x-nonsense\n\ncaf\xc3\xa9\n"
    message = view(1, stored(data))
    assert message.plain == "café\n"
    assert message.date == datetime(2026, 1, 1, tzinfo=UTC)  # when it was filed
    assert message.to_json()["message_id"] is None


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.sampled_from(
            [
                b"From: ",
                b"To: <",
                b">,",
                b"@",
                b"Subject: =?utf-8?q?",
                b"?=",
                b"\n",
                b"\n\n",
                b"Content-Type: multipart/mixed; boundary=b\n",
                b"--b\n",
                b"--b--\n",
                b"Content-Disposition: attachment; filename*=x''%ff\n",
                b"\xff\xfe",
                b"\t",
                b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n",
                b"Content-Transfer-Encoding: base64\n",
                b"Content-Type: message/rfc822\n",
                b"(",
                b'"',
                b"\\",
                b":;",
            ]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_any_bytes_give_a_view_and_json(data: bytes) -> None:
    message = view(1, stored(data))
    json.dumps(message.to_json())
    for attachment in message.attachments:
        attachment.content()


@pytest.mark.parametrize("charset", ["idna", "punycode", "base64", "rot13", "utf-7", "x-unknown"])
@pytest.mark.parametrize("kind", ["plain", "html"])
def test_a_charset_whose_codec_cannot_replace_still_gives_text(charset: str, kind: str) -> None:
    raw = f"Content-Type: text/{kind}; charset={charset}\n\n".encode() + b"\xff\xfe a..b \\N{\n"
    found = view(1, StoredMessage(data=raw, quoted=False))
    assert found.text is not None and "a..b" in found.text


def test_text_that_decodes_to_a_lone_surrogate_shows_a_replacement_character() -> None:
    # UTF-7 can encode half a surrogate pair, which no UTF-8 output takes.
    raw = (
        b"From: =?utf-7?q?+2AA-?= <a@example.org>\nSubject: =?utf-7?q?x+2AA-y?=\n"
        b"Content-Type: text/plain; charset=utf-7\n\nbody +2AA- end\n"
    )
    found = view(1, StoredMessage(data=raw, quoted=False))
    assert (found.subject, found.text) == ("x\ufffdy", "body \ufffd end\n")
    assert found.sender.startswith("\ufffd")
    json.dumps(found.to_json(), ensure_ascii=False).encode("utf-8")
