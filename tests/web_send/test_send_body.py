"""`POST /api/v1/send`'s body read into a `Draft` and an envelope (`web.send_body`):
what Mailpit's `SendRequest` holds becomes the message `postier send` would write, and
each body the API must refuse is a 400 before anything is sent."""

from __future__ import annotations

import base64
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from postier.client import Attachment, compose
from postier.client.message import serialize
from postier.web.errors import ApiError
from postier.web.send_body import send_request

FROM = {"Email": "me@example.com"}
TO = [{"Email": "you@example.org"}]
FILE = {"Content": "aGk=", "Filename": "a"}


def body(**fields: Any) -> bytes:
    return json.dumps({"From": FROM, "To": TO, **fields}).encode()


def written(raw: bytes) -> EmailMessage:
    """The message composed from `raw`, as it goes on the wire, parsed back."""
    message = serialize(compose(send_request(raw).draft))
    parsed = message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_envelope_holds_every_recipient_and_the_headers_no_bcc() -> None:
    wanted = send_request(
        body(Cc=[{"Email": "cc@example.org"}], Bcc=["hidden@example.net"], Subject="s")
    )
    assert wanted.sender == "me@example.com"
    assert wanted.recipients == ("you@example.org", "cc@example.org", "hidden@example.net")
    head = serialize(compose(wanted.draft)).split(b"\r\n\r\n")[0]
    assert b"hidden@example.net" not in head
    assert b"\r\nCc: cc@example.org\r\n" in head


def test_names_and_subject_are_encoded_per_rfc_2047() -> None:
    raw = body(
        From={"Email": "me@example.com", "Name": "Zoë Ünïcode"},
        To=[{"Email": "you@example.org", "Name": "Doe, John"}],
        ReplyTo=[{"Email": "desk@example.com", "Name": "Ça va"}],
        Subject="Héllo wörld ✓",
    )
    wire = serialize(compose(send_request(raw).draft))
    head = wire.split(b"\r\n\r\n")[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    assert b'To: "Doe, John" <you@example.org>' in head
    parsed = written(raw)
    assert parsed["Subject"] == "Héllo wörld ✓"
    assert parsed["From"].addresses[0].display_name == "Zoë Ünïcode"
    assert parsed["To"].addresses[0].display_name == "Doe, John"
    assert parsed["Reply-To"].addresses[0].display_name == "Ça va"


def test_text_html_attachments_inline_headers_and_tags() -> None:
    data = bytes(range(256))
    raw = body(
        Text="plain",
        HTML='<p><img src="cid:logo"></p>',
        Attachments=[
            {"Content": base64.b64encode(data).decode(), "Filename": "all.bin"},
            {
                "Content": "data:image/png;base64," + base64.b64encode(b"PNG").decode(),
                "Filename": "logo.png",
                "ContentID": "logo",
            },
            {"Content": "aGk=", "Filename": "hi.txt", "ContentType": "text/x-note"},
        ],
        Headers={"X-Custom": "yes", "Message-ID": "<fixed@example.com>"},
        Tags=["one", "two"],
    )
    parsed = written(raw)
    assert parsed["X-Custom"] == "yes"
    assert parsed["Message-ID"] == "<fixed@example.com>"
    assert parsed["X-Tags"] == "one, two"
    parts = {part.get_filename(): part for part in parsed.walk() if part.get_filename()}
    assert parts["all.bin"].get_content() == data
    assert parts["hi.txt"].get_content_type() == "text/x-note"
    logo = parts["logo.png"]
    assert logo["Content-ID"] == "<logo>"
    assert logo.get_content_disposition() == "inline"
    related = [p for p in parsed.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1, "the inline image goes with the HTML"
    body_part = parsed.get_body(("plain",))
    assert body_part is not None and body_part.get_content().rstrip() == "plain"


def test_keys_in_any_case_and_nulls_as_absent() -> None:
    raw = json.dumps(
        {"from": {"email": "me@example.com", "name": None}, "to": TO, "cc": None, "subject": "s"}
    ).encode()
    wanted = send_request(raw)
    assert wanted.recipients == ("you@example.org",)
    assert wanted.draft.subject == "s"


def test_an_attachment_is_kept_as_its_bytes() -> None:
    raw = body(Attachments=[{"Content": "AAE=\r\n", "Filename": "z"}])
    assert send_request(raw).draft.attachments == [Attachment("z", b"\x00\x01", None, None)]


REFUSED: list[tuple[str, Any, str]] = [
    ("not JSON", b"{", "not JSON"),
    ("not an object", b"[]", "JSON object"),
    ("no From", {"To": TO}, "From is required"),
    ("From no object", {"From": "me@example.com", "To": TO}, "From must be an object"),
    ("From no Email", {"From": {"Name": "x"}, "To": TO}, "address is required"),
    ("no recipient", {"From": FROM}, "no recipient"),
    ("empty To", {"From": FROM, "To": []}, "no recipient"),
    ("bad To", {"From": FROM, "To": [{"Email": "not an address"}]}, "invalid To address"),
    ("bad Bcc", {"From": FROM, "Bcc": ["x@"]}, "invalid Bcc address"),
    ("bad From", {"From": {"Email": "a@@b"}, "To": TO}, "invalid From address"),
    ("source route", {"From": FROM, "To": [{"Email": "@relay.test:you@x.org"}]}, "route"),
    ("To no list", {"From": FROM, "To": {"Email": "you@x.org"}}, "list of objects"),
    ("Bcc of objects", {"From": FROM, "Bcc": [{"Email": "you@x.org"}]}, "list of strings"),
    ("Subject a number", {"From": FROM, "To": TO, "Subject": 7}, "must be a string"),
]
"""Bodies refused, as (case, body, what the error says)."""

INJECTIONS: list[tuple[str, dict[str, Any]]] = [
    ("Subject", {"Subject": "hi\r\nBcc: victim@example.net"}),
    ("Subject LF", {"Subject": "hi\nX-Evil: 1"}),
    ("From Name", {"From": {"Email": "me@example.com", "Name": "Me\r\nBcc: v@x.net"}}),
    ("To Name", {"To": [{"Email": "you@example.org", "Name": "You\nX: 1"}]}),
    ("To Email", {"To": [{"Email": "you@example.org\r\nBcc: v@x.net"}]}),
    ("Bcc", {"Bcc": ["v@x.net\r\nX: 1"]}),
    ("Header value", {"Headers": {"X-A": "1\r\nBcc: v@x.net"}}),
    ("Header name", {"Headers": {"X-A\r\nBcc": "v@x.net"}}),
    ("Tag", {"Tags": ["a\r\nBcc: v@x.net"]}),
    ("Filename", {"Attachments": [{"Content": "aGk=", "Filename": "a\r\nX: 1"}]}),
    ("ContentType", {"Attachments": [{**FILE, "ContentType": "a/b\nX: 1"}]}),
    ("ContentID", {"Attachments": [{**FILE, "ContentID": "c\r\nX: 1"}]}),
]  # fmt: skip
"""A line break in a field that goes into a header, by where it is."""

RESERVED: list[tuple[str, dict[str, Any], str]] = [
    ("From", {"Headers": {"From": "boss@example.com"}}, "cannot overwrite header"),
    ("subject, any case", {"Headers": {"subject": "x"}}, "cannot overwrite header"),
    ("Bcc", {"Headers": {"Bcc": "v@x.net"}}, "cannot overwrite header"),
    ("Content-Type", {"Headers": {"Content-Type": "text/html"}}, "cannot overwrite header"),
    ("X-Tags with Tags", {"Tags": ["t"], "Headers": {"X-Tags": "u"}}, "cannot overwrite"),
    ("a bad header name", {"Headers": {"Bad Name": "x"}}, "not a header name"),
    ("Headers no object", {"Headers": ["X-A: 1"]}, "Headers must be an object"),
    ("bad base64", {"Attachments": [{"Content": "not base64!", "Filename": "a"}]}, "base64"),
    ("cut base64", {"Attachments": [{"Content": "aGk", "Filename": "a"}]}, "base64"),
    ("no Filename", {"Attachments": [{"Content": "aGk="}]}, "Filename"),
    ("bad type", {"Attachments": [{**FILE, "ContentType": "x"}]}, "type/subtype"),
]  # fmt: skip


def _refused(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        send_request(raw)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(("case", "given", "says"), REFUSED, ids=[c for c, _, _ in REFUSED])
def test_bad_bodies_are_refused(case: str, given: Any, says: str) -> None:
    raw = given if isinstance(given, bytes) else json.dumps(given).encode()
    assert says in _refused(raw).message


@pytest.mark.parametrize(("case", "fields"), INJECTIONS, ids=[c for c, _ in INJECTIONS])
def test_a_line_break_in_a_header_field_is_refused(case: str, fields: dict[str, Any]) -> None:
    error = _refused(body(**fields))
    assert "line break" in error.message


@pytest.mark.parametrize(("case", "fields", "says"), RESERVED, ids=[c for c, _, _ in RESERVED])
def test_headers_and_attachments_the_api_cannot_take(
    case: str, fields: dict[str, Any], says: str
) -> None:
    assert says in _refused(body(**fields)).message


def test_text_and_html_may_hold_line_breaks() -> None:
    wanted = send_request(body(Text="a\r\nb\n", HTML="<p>\n</p>"))
    assert wanted.draft.text == "a\r\nb\n"
