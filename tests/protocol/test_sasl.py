"""The SASL exchanges of AUTH: decoding PLAIN, LOGIN and CRAM-MD5 responses."""

from __future__ import annotations

import base64
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp.sasl_server import (
    Challenge,
    Credentials,
    Failure,
    decode,
    encode,
    new_exchange,
)
from tests.protocol.helpers import examples

TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@examples(200)
@given(user=TEXT.filter(bool), password=TEXT, authzid=st.booleans())
def test_plain_round_trip(user: str, password: str, authzid: bool) -> None:
    raw = f"{user if authzid else ''}\0{user}\0{password}".encode()
    step = new_exchange("PLAIN", "mx.test").start(b64(raw))
    assert step == Credentials("PLAIN", user, password=password)


@examples(200)
@given(user=TEXT.filter(bool), password=TEXT)
def test_login_round_trip(user: str, password: str) -> None:
    exchange = new_exchange("LOGIN", "mx.test")
    assert exchange.start(None) == Challenge(encode("Username:"))
    assert exchange.respond(b64(user.encode())) == Challenge(encode("Password:"))
    assert exchange.respond(b64(password.encode()) or "=") == Credentials(
        "LOGIN", user, password=password
    )


def test_cram_md5_gives_the_challenge_and_the_digest() -> None:
    exchange = new_exchange("CRAM-MD5", "mx.test")
    first = exchange.start(None)
    assert isinstance(first, Challenge)
    challenge = base64.b64decode(first.text).decode()
    assert challenge.startswith("<") and challenge.endswith("@mx.test>")
    digest = hmac.new(b"tanstaaf", challenge.encode(), "md5").hexdigest()
    step = exchange.respond(b64(f"tim {digest}".encode()))
    assert step == Credentials("CRAM-MD5", "tim", challenge=challenge, digest=digest)
    assert "tanstaaf" not in repr(step) and digest not in repr(step)


def test_cram_md5_challenges_differ() -> None:
    challenges = {new_exchange("CRAM-MD5", "mx.test").start(None) for _ in range(20)}
    assert len(challenges) == 20


@pytest.mark.parametrize(
    ("mechanism", "initial", "response", "code"),
    [
        ("PLAIN", b64(b"a\0b"), None, 501),  # two fields
        ("PLAIN", b64(b"\0\0pw"), None, 501),  # no user
        ("PLAIN", b64(b"\0a\xff\0pw"), None, 501),  # not UTF-8
        ("PLAIN", b64(b"x\0a\0pw"), None, 535),  # acting for someone else
        ("PLAIN", "=", None, 501),
        ("LOGIN", "=", None, 501),  # an empty username
        ("LOGIN", None, "%%%", 501),
        ("CRAM-MD5", "dGlt", None, 501),  # no initial response in CRAM-MD5
        ("CRAM-MD5", None, b64(b"tim nothex"), 501),
        ("CRAM-MD5", None, b64(b"tim " + b"0" * 31), 501),
    ],
)
def test_malformed_responses(
    mechanism: str, initial: str | None, response: str | None, code: int
) -> None:
    exchange = new_exchange(mechanism, "mx.test")
    step = exchange.start(initial)
    if response is not None:
        assert isinstance(step, Challenge)
        step = exchange.respond(response)
    assert isinstance(step, Failure)
    assert step.reply.code == code


@pytest.mark.parametrize(
    ("text", "data"),
    [("=", b""), ("YQ==", b"a"), ("YQ", None), ("Y Q==", None), ("é", None), ("YQ==YQ==", None)],
)
def test_decode_is_strict(text: str, data: bytes | None) -> None:
    assert decode(text) == data


def test_the_password_never_shows_in_a_repr() -> None:
    assert "hunter2" not in repr(Credentials("PLAIN", "alice", password="hunter2"))


def test_unknown_mechanism() -> None:
    with pytest.raises(ValueError, match="unknown mechanism"):
        new_exchange("GSSAPI", "mx.test")
