"""`relay/release.py`: which recipients a release may name, and the copy it sends: the
stored message less its top `Return-Path:`/`Delivered-To:` and every `Bcc:`, the rest
byte for byte."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO

import pytest

from postier.relay import RelayConfig, ReleaseError, Upstream, release
from postier.relay.release import MAX_HEADER, check_recipients, prepare
from tests.client.servers import RecordingHandler
from tests.relay_units.helpers import ClosingController, config

ALLOWING = config(release_allow=(re.compile(r".*@qa\.test"),))
ANY = config()

# --- check_recipients ---------------------------------------------------------------------------

CHECKED: list[tuple[RelayConfig, list[str], tuple[str, ...]]] = [
    (ANY, ["a@else.test"], ("a@else.test",)),
    (ANY, ["  a@else.test  "], ("a@else.test",)),
    (ANY, ["Alice <a@else.test>"], ("a@else.test",)),
    (ANY, ["a@x.test", "b@x.test", "a@x.test"], ("a@x.test", "b@x.test")),
    (ANY, ["postmaster"], ("postmaster",)),
    (ALLOWING, ["a@qa.test"], ("a@qa.test",)),
    (ALLOWING, ["A@QA.Test"], ("A@QA.Test",)),  # matched in lower case, sent as given
    (ALLOWING, ["QA Team <team@qa.test>", "b@qa.test"], ("team@qa.test", "b@qa.test")),
]


@pytest.mark.parametrize(("relay", "recipients", "addresses"), CHECKED)
def test_check_recipients_gives_each_address_once(
    relay: RelayConfig, recipients: list[str], addresses: tuple[str, ...]
) -> None:
    assert check_recipients(relay, recipients) == addresses


REFUSED: list[tuple[RelayConfig, list[str], str, str]] = [
    # config, recipients, kind, message
    (ANY, [], "usage", "name at least one recipient to release the message to"),
    (ANY, ["not an address"], "usage", "not an address: 'not an address'"),
    (ANY, ["a@"], "usage", "not an address: 'a@'"),
    (ANY, ["Bob <>"], "usage", "not an address: 'Bob <>'"),
    (ALLOWING, ["a@else.test"], "refused", "not allowed by --release-allow: a@else.test"),
    (ALLOWING, ["a@qa.test.else"], "refused", "not allowed by --release-allow: a@qa.test.else"),
    (ALLOWING, ["x@qa.test", "y@b.test", "z@c.test"], "refused",
     "not allowed by --release-allow: y@b.test, z@c.test"),
    (ALLOWING, ["postmaster"], "refused", "not allowed by --release-allow: postmaster"),
    (RelayConfig(), ["a@qa.test"], "unconfigured", "release needs an upstream server"),
    (RelayConfig(release_allow=(re.compile(".*"),)), ["a@qa.test"], "unconfigured",
     "release needs an upstream server"),
]  # fmt: skip


@pytest.mark.parametrize(("relay", "recipients", "kind", "message"), REFUSED)
def test_check_recipients_refuses_with_whose_fault(
    relay: RelayConfig, recipients: list[str], kind: str, message: str
) -> None:
    with pytest.raises(ReleaseError) as caught:
        check_recipients(relay, recipients)
    assert caught.value.kind == kind
    assert str(caught.value).startswith(message)


# --- prepare ----------------------------------------------------------------------------------

BODY = b"Hello,\r\nBcc: body@secret.test stays, it is the body\r\n\r\nReturn-Path: <b@x>\r\n"

PREPARED: list[tuple[str, bytes, bytes, str]] = [
    # name, stored, sent, envelope sender
    (
        "the final delivery's fields at the top go",
        b"Return-Path: <s@in.test>\r\nDelivered-To: r@in.test\r\n"
        b"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
        b"From: S <s@in.test>\r\nSubject: hi\r\n\r\n" + BODY,
        b"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
        b"From: S <s@in.test>\r\nSubject: hi\r\n\r\n" + BODY,
        "s@in.test",
    ),
    (
        "Delivered-To first, then Return-Path",
        b"Delivered-To: r@in.test\r\nReturn-Path: <s@in.test>\r\nSubject: x\r\n\r\nbody\r\n",
        b"Subject: x\r\n\r\nbody\r\n",
        "s@in.test",
    ),
    (
        "only the top ones: further down they stay",
        b"Return-Path: <s@in.test>\r\nSubject: x\r\nReturn-Path: <other@x.test>\r\n"
        b"Delivered-To: kept@x.test\r\n\r\nbody\r\n",
        b"Subject: x\r\nReturn-Path: <other@x.test>\r\nDelivered-To: kept@x.test\r\n\r\nbody\r\n",
        "s@in.test",
    ),
    (
        "two Return-Path at the top: both go, the first is the sender",
        b"Return-Path: <first@x.test>\r\nReturn-Path: <second@x.test>\r\nSubject: x\r\n\r\nb\r\n",
        b"Subject: x\r\n\r\nb\r\n",
        "first@x.test",
    ),
    (
        "every Bcc goes, folded lines with it",
        b"Return-Path: <s@in.test>\r\nFrom: s@in.test\r\nBcc: a@x.test,\r\n b@x.test,\r\n"
        b"\tc@x.test\r\nTo: t@x.test\r\nbcc: d@x.test\r\nBCC : e@x.test\r\n"
        b"Resent-Bcc: f@x.test\r\n  g@x.test\r\nSubject: x\r\n\r\n" + BODY,
        b"From: s@in.test\r\nTo: t@x.test\r\nSubject: x\r\n\r\n" + BODY,
        "s@in.test",
    ),
    (
        "a Bcc as the last field, folded, before the empty line",
        b"Subject: x\r\nBcc: a@x.test,\r\n b@x.test\r\n\r\nBcc: body@x.test\r\n",
        b"Subject: x\r\n\r\nBcc: body@x.test\r\n",
        "",
    ),
    (
        "names that only look like Bcc stay",
        b"X-Bcc: a@x.test\r\nBccx: b@x.test\r\nSubject: Bcc: c@x.test\r\n\r\nb\r\n",
        b"X-Bcc: a@x.test\r\nBccx: b@x.test\r\nSubject: Bcc: c@x.test\r\n\r\nb\r\n",
        "",
    ),
    (
        "folded fields that stay keep their folding",
        b"Return-Path: <s@in.test>\r\nSubject: a\r\n  long\r\n\tsubject\r\nTo: t@x.test\r\n\r\nb",
        b"Subject: a\r\n  long\r\n\tsubject\r\nTo: t@x.test\r\n\r\nb",
        "s@in.test",
    ),
    (
        "LF line endings kept as they are",
        b"Return-Path: <s@in.test>\nDelivered-To: r@in.test\nBcc: a@x.test\n b@x.test\n"
        b"Subject: x\n\nBcc: body\n",
        b"Subject: x\n\nBcc: body\n",
        "s@in.test",
    ),
    (
        "the null sender",
        b"Return-Path: <>\r\nSubject: bounce\r\n\r\nb\r\n",
        b"Subject: bounce\r\n\r\nb\r\n",
        "",
    ),
    (
        "no Return-Path: the From address",
        b"Subject: x\r\nFrom: Sam <sam@in.test>\r\n\r\nb\r\n",
        b"Subject: x\r\nFrom: Sam <sam@in.test>\r\n\r\nb\r\n",
        "sam@in.test",
    ),
    (
        "a header section without an empty line or body",
        b"Return-Path: <s@in.test>\r\nSubject: x\r\nBcc: a@x.test\r\n",
        b"Subject: x\r\n",
        "s@in.test",
    ),
    (
        "8-bit and UTF-8 bytes pass unchanged",
        b"Return-Path: <s@in.test>\r\nSubject: caf\xc3\xa9\r\n\r\n\xe9t\xe9\xff\r\n",
        b"Subject: caf\xc3\xa9\r\n\r\n\xe9t\xe9\xff\r\n",
        "s@in.test",
    ),
    (
        "an empty message",
        b"",
        b"",
        "",
    ),
]


@pytest.mark.parametrize(
    ("stored", "sent", "sender"), [p[1:] for p in PREPARED], ids=[p[0] for p in PREPARED]
)
def test_prepare_strips_only_the_final_delivery_and_bcc(
    stored: bytes, sent: bytes, sender: str
) -> None:
    prepared = prepare(io.BytesIO(stored), ANY, ("to@qa.test",))
    try:
        assert prepared.data.read() == sent
    finally:
        prepared.data.close()
    assert prepared.envelope.sender == sender
    assert prepared.envelope.recipients == ("to@qa.test",)
    assert prepared.envelope.size == len(sent.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert prepared.envelope.eight_bit == (not sent.isascii())


def test_utf8_headers_ask_for_smtputf8_an_8bit_body_does_not() -> None:
    body_only = prepare(io.BytesIO(b"Subject: x\r\n\r\n\xc3\xa9\r\n"), ANY, ("to@qa.test",))
    header = prepare(io.BytesIO("Subject: \u00e9\r\n\r\nx\r\n".encode()), ANY, ("to@qa.test",))
    try:
        assert (body_only.envelope.eight_bit, body_only.envelope.utf8_headers) == (True, False)
        assert (header.envelope.eight_bit, header.envelope.utf8_headers) == (True, True)
    finally:
        body_only.data.close()
        header.data.close()


def test_relay_from_replaces_the_envelope_sender() -> None:
    stored = io.BytesIO(b"Return-Path: <s@in.test>\r\nSubject: x\r\n\r\nb\r\n")
    prepared = prepare(stored, config(sender="bounce@relay.test"), ("to@qa.test",))
    prepared.data.close()
    assert prepared.envelope.sender == "bounce@relay.test"


def test_a_return_path_that_is_no_address_is_refused() -> None:
    stored = io.BytesIO(b"Return-Path: <not an address>\r\nSubject: x\r\n\r\nb\r\n")
    with pytest.raises(ReleaseError, match=r"^cannot release"):
        prepare(stored, ANY, ("to@qa.test",))


def test_a_header_section_too_long_is_refused() -> None:
    stored = io.BytesIO(b"Subject: x\r\n" + b"X-Long: " + b"a" * MAX_HEADER + b"\r\n\r\nb\r\n")
    with pytest.raises(ReleaseError, match="too long"):
        prepare(stored, ANY, ("to@qa.test",))


# --- release ---------------------------------------------------------------------------------


Opener = Callable[[], AbstractContextManager[IO[bytes]]]


def _opener(data: bytes, opened: list[bool]) -> Opener:
    """Opens `data` as the stored message, and notes that it was opened."""

    @contextmanager
    def opened_file() -> Iterator[IO[bytes]]:
        opened.append(True)
        with io.BytesIO(data) as stored:
            yield stored

    return opened_file


def test_release_without_an_upstream_is_refused_before_the_message_is_opened() -> None:
    opened: list[bool] = []
    with pytest.raises(ReleaseError) as caught:
        asyncio.run(release(RelayConfig(), _opener(b"x", opened), ["a@qa.test"]))
    assert caught.value.kind == "unconfigured"
    assert opened == []


def test_release_sends_the_prepared_copy_upstream() -> None:
    handler = RecordingHandler()
    controller = ClosingController(handler)
    controller.start()
    try:
        relay = RelayConfig(
            Upstream("127.0.0.1", controller.port, timeout=10.0),
            release_allow=(re.compile(r".*@qa\.test"),),
        )
        stored = (
            b"Return-Path: <s@in.test>\r\nDelivered-To: local@in.test\r\n"
            b"Subject: release me\r\nBcc: hidden@x.test\r\n\r\nBcc: body line\r\n"
        )
        opened: list[bool] = []
        opener = _opener(stored, opened)
        result = asyncio.run(release(relay, opener, ["QA <one@qa.test>"], hostname="postier.test"))
    finally:
        controller.stop()
    assert result.ok and list(result.accepted) == ["one@qa.test"]
    assert opened == [True]
    [received] = handler.messages
    assert (received.sender, received.recipients) == ("s@in.test", ["one@qa.test"])
    assert received.content == b"Subject: release me\r\n\r\nBcc: body line\r\n"
