"""The client's small pure helpers: EHLO keywords, SASL mechanisms, envelope checks."""

from __future__ import annotations

import pytest

from postier.protocol.smtp.address import AddressError
from postier.protocol.smtp.capabilities import HELO_ONLY, parse_ehlo
from postier.protocol.smtp.client_envelope import (
    OutgoingEnvelope,
    refusal_before_sending,
    wire_size,
)
from postier.protocol.smtp.client_transaction import Transaction
from postier.protocol.smtp.replies import Reply
from postier.protocol.smtp.sasl_client import (
    CramMd5,
    Login,
    Plain,
    SaslError,
    choose_mechanism,
    mechanism,
)


def ehlo(*keywords: str) -> Reply:
    return Reply(250, ("mx.test greets you", *keywords))


def test_ehlo_keywords_are_read_case_insensitively() -> None:
    caps = parse_ehlo(ehlo("pipelining", "Size 1000", "8BITMIME", "smtputf8", "STARTTLS"))
    assert caps.extended
    assert caps.pipelining
    assert caps.size
    assert caps.size_limit == 1000
    assert caps.eight_bit_mime
    assert caps.smtputf8
    assert caps.starttls
    assert not caps.enhanced_status_codes
    assert caps.auth_mechanisms == frozenset()


@pytest.mark.parametrize("size", ["SIZE", "SIZE 0", "SIZE lots"])
def test_size_without_a_limit(size: str) -> None:
    # RFC 1870 §4: SIZE with no number (or 0) announces the extension, not a limit.
    caps = parse_ehlo(ehlo(size))
    assert caps.size
    assert caps.size_limit is None


def test_auth_mechanisms_in_both_spellings() -> None:
    caps = parse_ehlo(ehlo("AUTH login Plain", "AUTH=CRAM-MD5 XOAUTH2"))
    assert caps.auth_mechanisms == {"LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2"}


def test_the_greeting_line_is_not_a_keyword() -> None:
    caps = parse_ehlo(Reply(250, ("PIPELINING",)))
    assert not caps.pipelining
    assert HELO_ONLY.keywords == {}


def test_plain_and_its_empty_challenge() -> None:
    plain = Plain("alice", "pässword")
    assert plain.initial_response() == "\0alice\0pässword".encode()
    assert plain.respond(b"") == plain.initial_response()
    with pytest.raises(SaslError):
        plain.respond(b"what?")


def test_login_and_cram_md5_answer_only_what_they_should() -> None:
    login = Login("alice", "secret")
    assert login.initial_response() is None
    assert [login.respond(b"Username:"), login.respond(b"Password:")] == [b"alice", b"secret"]
    with pytest.raises(SaslError):
        login.respond(b"More?")
    cram = CramMd5("tim", "tanstaaftanstaaf")
    assert cram.respond(b"<1896.697170952@postoffice.reston.mci.net>") == (
        b"tim b913a602c7eda7a495b4e6e7334d3890"  # RFC 2195 §2
    )
    with pytest.raises(SaslError):
        cram.respond(b"<again>")


def test_mechanism_choice() -> None:
    offered = {"PLAIN", "LOGIN", "CRAM-MD5"}
    # In clear, CRAM-MD5 keeps the password off the wire; under TLS, PLAIN.
    assert choose_mechanism(offered, encrypted=False) == "CRAM-MD5"
    assert choose_mechanism(offered, encrypted=True) == "PLAIN"
    assert choose_mechanism({"login"}, encrypted=True) == "LOGIN"
    assert choose_mechanism({"XOAUTH2"}, encrypted=True) is None
    assert mechanism("cram-md5", "u", "p").name == "CRAM-MD5"
    with pytest.raises(KeyError):
        mechanism("GSSAPI", "u", "p")


@pytest.mark.parametrize(
    ("message", "size"),
    [(b"", 0), (b"a\r\nb\r\n", 6), (b"a\nb\n", 6), (b"a\rb", 4), (b"\r\n\n\r", 6)],
)
def test_wire_size_counts_crlf_line_endings(message: bytes, size: int) -> None:
    assert wire_size(message) == size


@pytest.mark.parametrize(
    ("sender", "recipients"),
    [("bad", ("x@y.z",)), ("a@b.c", ()), ("a@b.c", ("x@y.z", "x@y.z")), ("a@b.c", ("x@y.z>",))],
)
def test_envelopes_that_would_break_a_command_line_are_refused(
    sender: str, recipients: tuple[str, ...]
) -> None:
    with pytest.raises(AddressError):
        OutgoingEnvelope(sender, recipients)


def test_the_null_sender_and_postmaster() -> None:
    envelope = OutgoingEnvelope("", ("Postmaster",))
    # The MAIL the client writes for it, to a server that offers no extension.
    assert Transaction(envelope, pipelined=False).mail(HELO_ONLY).line() == "MAIL FROM:<>"


def test_refusals_before_sending() -> None:
    caps = parse_ehlo(ehlo("SIZE 100"))
    too_big = refusal_before_sending(caps, OutgoingEnvelope("a@b.c", ("x@y.z",), size=101))
    assert too_big is not None
    assert (too_big.code, too_big.enhanced) == (552, "5.3.4")
    assert refusal_before_sending(caps, OutgoingEnvelope("a@b.c", ("x@y.z",), size=100)) is None
    utf8 = refusal_before_sending(caps, OutgoingEnvelope("a@b.c", ("zoë@y.z",)))
    assert utf8 is not None
    assert (utf8.code, utf8.enhanced) == (553, "5.6.7")
    eight = refusal_before_sending(caps, OutgoingEnvelope("a@b.c", ("x@y.z",), eight_bit=True))
    assert eight is not None
    assert eight.code == 554
    assert (
        refusal_before_sending(HELO_ONLY, OutgoingEnvelope("a@b.c", ("x@y.z",), size=10**9)) is None
    )
