"""The server's side of the SASL mechanisms of AUTH (RFC 4954): PLAIN, LOGIN, CRAM-MD5.

An exchange turns the client's base64 lines into `Credentials`, asking with 334
challenges on the way. It checks nothing: whether the credentials are good is the
session's business (a password file, slow hashing, on a thread), never the core's.

    PLAIN     RFC 4616: one response, authzid NUL authcid NUL passwd.
    LOGIN     draft-murchison-sasl-login: "Username:", then "Password:", each base64.
    CRAM-MD5  RFC 2195: a challenge, answered by "user hex(HMAC-MD5(password, challenge))".
              Checking it needs the clear password, so it is offered only when every
              password is accepted anyway.
"""

from __future__ import annotations

import binascii
import re
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.sasl_names import CRAM_MD5, LOGIN, PLAIN

_CRAM_RESPONSE = re.compile(r"(.+) ([0-9a-f]{32})")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the client offered; `password` never appears in a repr or a log line."""

    mechanism: str
    username: str
    password: str | None = field(default=None, repr=False)
    """The password of PLAIN and LOGIN."""
    challenge: str | None = None
    """CRAM-MD5: the challenge we sent..."""
    digest: str | None = field(default=None, repr=False)
    """...and the client's hex HMAC-MD5 of it."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send `334 text` and read one more line."""

    text: str


@dataclass(frozen=True, slots=True)
class Failure:
    """The exchange is over without credentials; send `reply`."""

    reply: Reply


SaslStep = Challenge | Credentials | Failure
"""What an exchange says after each line: ask again, done, or failed."""


class Exchange(ABC):
    """One AUTH exchange, from the command to the credentials."""

    mechanism: str

    @abstractmethod
    def start(self, initial_response: str | None) -> SaslStep:
        """The AUTH command arrived, with its initial response when it had one."""

    @abstractmethod
    def respond(self, line: str) -> SaslStep:
        """One more line from the client (cancellation is handled before this)."""


def new_exchange(mechanism: str, hostname: str) -> Exchange:
    """An exchange for one of `MECHANISMS`."""
    if mechanism == PLAIN:
        return _Plain()
    if mechanism == LOGIN:
        return _Login()
    if mechanism == CRAM_MD5:
        return _CramMd5(hostname)
    raise ValueError(f"unknown mechanism {mechanism!r}")


def decode(text: str) -> bytes | None:
    """Strict base64 (RFC 4648 §4); "=" is the empty response (RFC 4954 §4)."""
    if text == "=":
        return b""
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def encode(data: str) -> str:
    return binascii.b2a_base64(data.encode("utf-8"), newline=False).decode("ascii")


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if "\x00" not in text else None


class _Plain(Exchange):
    mechanism = PLAIN

    def start(self, initial_response: str | None) -> SaslStep:
        if initial_response is None:
            return Challenge("")
        return self.respond(initial_response)

    def respond(self, line: str) -> SaslStep:
        data = decode(line)
        if data is None:
            return Failure(catalogue.cannot_decode())
        parts = data.split(b"\x00")
        if len(parts) != 3:
            return Failure(catalogue.bad_credentials_syntax(PLAIN))
        authzid, authcid, passwd = (_text(part) for part in parts)
        if authzid is None or not authcid or passwd is None:
            return Failure(catalogue.bad_credentials_syntax(PLAIN))
        if authzid and authzid != authcid:
            # Acting for another user (RFC 4616 §2) is not something we grant.
            return Failure(catalogue.auth_failed())
        return Credentials(PLAIN, authcid, password=passwd)


class _Login(Exchange):
    mechanism = LOGIN

    def __init__(self) -> None:
        self._username: str | None = None

    def start(self, initial_response: str | None) -> SaslStep:
        if initial_response is None:
            return Challenge(encode("Username:"))
        return self.respond(initial_response)

    def respond(self, line: str) -> SaslStep:
        data = decode(line)
        if data is None:
            return Failure(catalogue.cannot_decode())
        text = _text(data)
        if text is None:
            return Failure(catalogue.bad_credentials_syntax(LOGIN))
        if self._username is None:
            if not text:
                return Failure(catalogue.bad_credentials_syntax(LOGIN))
            self._username = text
            return Challenge(encode("Password:"))
        return Credentials(LOGIN, self._username, password=text)


class _CramMd5(Exchange):
    mechanism = CRAM_MD5

    def __init__(self, hostname: str) -> None:
        # RFC 2195 §2: a unique challenge in the form of a message id.
        self._challenge = f"<{secrets.randbelow(10**10)}.{int(time.time())}@{hostname}>"

    def start(self, initial_response: str | None) -> SaslStep:
        if initial_response is not None:
            return Failure(catalogue.bad_credentials_syntax(CRAM_MD5))  # it has none
        return Challenge(encode(self._challenge))

    def respond(self, line: str) -> SaslStep:
        data = decode(line)
        if data is None:
            return Failure(catalogue.cannot_decode())
        match = _CRAM_RESPONSE.fullmatch(_text(data) or "")
        if match is None:
            return Failure(catalogue.bad_credentials_syntax(CRAM_MD5))
        return Credentials(CRAM_MD5, match[1], challenge=self._challenge, digest=match[2])
