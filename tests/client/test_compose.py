"""Writing messages: the headers RFC 5322 asks for, MIME parts, and a body sent as written."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from postier.client.compose import (
    Draft,
    address_of,
    attachment_type,
    compose,
    parse_header,
    text_encoding,
)
from postier.client.message import prepare, serialize
from postier.protocol.smtp.address import AddressError
from tests.client.reading import parsed

BODY = "From me\n.\n..x\nFrom the start\n>From quoted\n"


def test_the_headers_every_message_needs() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    message = compose(Draft("me@example.com", to=["you@example.org"], text="hi"), date=when)
    data = serialize(message)
    back = parsed(data)
    assert parsedate_to_datetime(back["Date"]) == when
    assert re.fullmatch(r"<[^@<>\s]+@example\.com>", back["Message-ID"])
    assert back["MIME-Version"] == "1.0"
    assert back["From"] == "me@example.com"
    assert data.endswith(b"\r\n\r\nhi\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_non_ascii_subject_and_names_are_encoded_per_rfc_2047() -> None:
    draft = Draft("Zoë Ça <zoe@example.com>", to=["Jürgen <j@example.org>"], subject="Café ☕")
    data = serialize(compose(draft))
    assert data.isascii()
    assert b"=?utf-8?" in data
    back = parsed(data)
    assert back["Subject"] == "Café ☕"
    assert back["From"].addresses[0].display_name == "Zoë Ça"
    assert back["To"].addresses[0].display_name == "Jürgen"


def test_the_body_is_sent_exactly_as_written() -> None:
    # Never mbox-quoted (">From"), dots untouched here: stuffing is the wire's business.
    data = serialize(compose(Draft("me@example.com", to=["you@example.org"], text=BODY)))
    body = data.split(b"\r\n\r\n", 1)[1]
    assert body == BODY.replace("\n", "\r\n").encode()
    assert parsed(data).get_content() == BODY


def test_utf8_text_round_trips() -> None:
    text = "Grüße, ça va ? 日本語\n" + "x" * 1200 + "\n"
    assert text_encoding(text) == "quoted-printable"
    data = serialize(compose(Draft("me@example.com", to=["you@example.org"], text=text)))
    assert data.isascii()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert parsed(data).get_content() == text


def test_html_and_attachments(tmp_path: Path) -> None:
    pdf = tmp_path / "rapport été.pdf"
    pdf.write_bytes(b"%PDF-1.4 \x00\xff binary")
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"plain notes\n")
    draft = Draft(
        "me@example.com",
        to=["you@example.org"],
        text="see attached",
        html="<p>see <b>attached</b></p>",
        attachments=[pdf, notes],
    )
    back = parsed(serialize(compose(draft)))
    assert back.get_content_type() == "multipart/mixed"
    body = back.get_body(("html",))
    assert body is not None
    assert "<b>attached</b>" in body.get_content()
    parts = list(back.iter_attachments())
    assert [p.get_filename() for p in parts] == ["rapport été.pdf", "notes.txt"]
    assert [p.get_content_type() for p in parts] == ["application/pdf", "text/plain"]
    assert parts[0].get_content() == pdf.read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.pdf", ("application", "pdf")),
        ("a.PNG", ("image", "png")),
        ("a.tar.gz", ("application", "octet-stream")),
        ("no-extension", ("application", "octet-stream")),
    ],
)
def test_attachment_types_come_from_the_name(name: str, expected: tuple[str, str]) -> None:
    assert attachment_type(Path(name)) == expected


def test_extra_headers_add_or_replace() -> None:
    draft = Draft(
        "me@example.com",
        to=["you@example.org"],
        headers=[("X-Mailer", "tests"), ("Message-ID", "<fixed@example.com>")],
    )
    back = parsed(serialize(compose(draft)))
    assert back["X-Mailer"] == "tests"
    assert back.get_all("Message-ID") == ["<fixed@example.com>"]


@pytest.mark.parametrize("text", ["no colon", "Bad Name: x", ": empty", "X-A: b\r\nBcc: c"])
def test_bad_headers_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_header(text)


def test_address_of() -> None:
    assert address_of("Zoë <zoë@example.com>") == "zoë@example.com"
    assert address_of("plain@example.com") == "plain@example.com"


def test_bcc_is_in_the_envelope_never_in_the_headers() -> None:
    message = compose(Draft("me@example.com", to=["you@example.org"], text="hi"))
    message["Bcc"] = "hidden@example.net"
    data, envelope = prepare(message)
    assert b"hidden" not in data
    assert envelope.recipients == ("you@example.org", "hidden@example.net")
    assert message["Bcc"] == "hidden@example.net"  # the caller's message is left whole


def test_utf8_addresses_make_utf8_headers() -> None:
    message = compose(Draft("zoë@exemple.fr", to=["jürgen@example.org"], text="hi"))
    data, envelope = prepare(message)
    assert envelope.smtputf8
    assert envelope.eight_bit
    assert "From: zoë@exemple.fr".encode() in data


def test_bytes_go_as_they_are_with_the_envelope_from_their_headers() -> None:
    raw = b"From: A <a@b.c>\nTo: x@y.z, Q <q@r.s>\nCc: x@y.z\nSubject: hi\n\n8-bit: \xc3\xa9\n"
    data, envelope = prepare(raw)
    assert data == raw
    assert envelope.sender == "a@b.c"
    assert envelope.recipients == ("x@y.z", "q@r.s")
    assert envelope.eight_bit
    assert not envelope.utf8_headers
    assert envelope.size == len(raw) + raw.count(b"\n")


def test_bytes_without_headers_need_an_explicit_envelope() -> None:
    with pytest.raises(AddressError):
        prepare(b"just a body\n")
    _, envelope = prepare(b"just a body\n", "a@b.c", ["x@y.z"])
    assert envelope.recipients == ("x@y.z",)
