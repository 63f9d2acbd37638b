"""The client's SASL for SMTP AUTH (RFC 4954) as pure logic: challenges in, responses out.

A mechanism says what to answer; `AuthExchange` writes the AUTH command and puts each
answer in base64; the client state machine runs the 334/235 dialogue. PLAIN is RFC
4616, CRAM-MD5 is RFC 2195, and LOGIN is the old draft (draft-murchison-sasl-login)
that many servers still offer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterable

from postier.protocol.smtp.client_transcript import MASK
from postier.protocol.smtp.commands import Auth
from postier.protocol.smtp.replies import Reply
from postier.protocol.smtp.sasl_names import CRAM_MD5, LOGIN, PLAIN


class SaslError(Exception):
    """The server's challenge cannot be answered; the client cancels with `*` (RFC 4954 §4)."""


class Mechanism(ABC):
    """One SASL exchange, for one attempt: create a new one for each AUTH command."""

    name: str

    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode("utf-8")
        self._password = password.encode("utf-8")

    def initial_response(self) -> bytes | None:
        """What to send with the AUTH command itself (RFC 4954 §4), or None to wait."""
        return None

    @abstractmethod
    def respond(self, challenge: bytes) -> bytes:
        """The answer to one decoded 334 challenge; raises `SaslError` when there is none."""


class Plain(Mechanism):
    """RFC 4616 §2: `[authzid] NUL authcid NUL passwd`, sent at once."""

    name = PLAIN

    def initial_response(self) -> bytes:
        return b"\0" + self._username + b"\0" + self._password

    def respond(self, challenge: bytes) -> bytes:
        # A server that asks with an empty challenge (RFC 4954 §4) wants the same.
        if challenge:
            raise SaslError("unexpected PLAIN challenge")
        return self.initial_response()


class Login(Mechanism):
    """Two challenges, answered in order with the user name and the password.

    The challenge texts differ between servers ("Username:", "User Name"), so the
    order of the challenges is what counts, as in every client that speaks LOGIN.
    """

    name = LOGIN

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._answers = [self._username, self._password]

    def respond(self, challenge: bytes) -> bytes:
        if not self._answers:
            raise SaslError("LOGIN asked more than user name and password")
        return self._answers.pop(0)


class CramMd5(Mechanism):
    """RFC 2195 §2: the user name, a space, and HMAC-MD5 of the challenge in lower-case hex.

    The password never crosses the wire, which makes it the better choice in clear text.
    """

    name = CRAM_MD5

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._answered = False

    def respond(self, challenge: bytes) -> bytes:
        if self._answered or not challenge:
            raise SaslError("unexpected CRAM-MD5 challenge")
        self._answered = True
        digest = hmac.new(self._password, challenge, hashlib.md5).hexdigest()
        return self._username + b" " + digest.encode("ascii")


MECHANISMS: dict[str, type[Mechanism]] = {m.name: m for m in (Plain, Login, CramMd5)}

# In clear text, CRAM-MD5 keeps the password off the wire; under TLS, PLAIN is the
# simplest and the most widely right (CRAM-MD5 needs the password stored in clear).
_PREFERENCE_CLEAR = (CRAM_MD5, PLAIN, LOGIN)
_PREFERENCE_TLS = (PLAIN, LOGIN, CRAM_MD5)


def choose_mechanism(offered: Iterable[str], *, encrypted: bool) -> str | None:
    """The mechanism to use among those the server offers, or None when none is known."""
    offered = {name.upper() for name in offered}
    preference = _PREFERENCE_TLS if encrypted else _PREFERENCE_CLEAR
    return next((name for name in preference if name in offered), None)


def mechanism(name: str, username: str, password: str) -> Mechanism:
    """A fresh exchange for mechanism `name`; `KeyError` when postier does not speak it."""
    return MECHANISMS[name.upper()](username, password)


class AuthExchange:
    """One AUTH command and the base64 answers to its challenges (RFC 4954 §4).

    `shown` is the command as a transcript may print it, the initial response masked.
    """

    def __init__(self, mechanism: Mechanism) -> None:
        self._mechanism = mechanism
        initial = mechanism.initial_response()
        # RFC 4954 §4: an empty initial response is sent as "=".
        response = None if initial is None else base64.b64encode(initial).decode("ascii") or "="
        self.command = Auth(mechanism.name, response)
        self.shown = Auth(mechanism.name, None if initial is None else MASK).line()

    def answer(self, challenge: Reply) -> str | None:
        """The answer to a 334 challenge; None when there is none and the client cancels."""
        text = " ".join(challenge.lines).strip()
        try:
            # RFC 4954 §4: the challenge is base64. Anything else, non-ASCII text
            # included (a ValueError from b64decode, not a binascii.Error), cannot be
            # answered.
            decoded = base64.b64decode(text, validate=True)
            return base64.b64encode(self._mechanism.respond(decoded)).decode("ascii")
        except (ValueError, SaslError):
            return None
