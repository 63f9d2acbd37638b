"""The SASL mechanisms of a server, whatever protocol carries them: PLAIN, LOGIN, CRAM-MD5.

SMTP's AUTH (RFC 4954, `334` challenges) and POP3's AUTH (RFC 5034, `+ ` continuations)
run the same exchanges; each protocol writes its own replies, so an exchange says what
went wrong as a `Problem`, never as a reply. An exchange checks nothing: whether the
credentials are good is the session's business (a password file, slow hashing, on a
thread), never the core's.

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
from enum import Enum
from typing import Final

PLAIN: Final = "PLAIN"
"""RFC 4616."""
LOGIN: Final = "LOGIN"
"""draft-murchison-sasl-login, still offered by many servers."""
CRAM_MD5: Final = "CRAM-MD5"
"""RFC 2195."""
MECHANISMS: Final = (PLAIN, LOGIN, CRAM_MD5)

CANCEL: Final = "*"
"""RFC 4954 §4 and RFC 5034 §4: a client cancels the exchange with a line holding "*"."""

_CRAM_RESPONSE = re.compile(r"(.+) ([0-9a-f]{32})")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the client offered; `password` never appears in a repr or a log line."""

    mechanism: str
    username: str
    password: str | None = field(default=None, repr=False)
    """The password of PLAIN and LOGIN (and of POP3's USER/PASS)."""
    challenge: str | None = None
    """CRAM-MD5 (and POP3's APOP): the challenge we sent..."""
    digest: str | None = field(default=None, repr=False)
    """...and the client's hex MD5 digest over it."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send `text` (base64) as the protocol's challenge and read one more line."""

    text: str


class Problem(Enum):
    """Why an exchange ended without credentials; each protocol words it its own way."""

    UNDECODABLE = "cannot decode the response (base64 expected)"
    MALFORMED = "malformed response"
    REFUSED = "authorization identity refused"
    """PLAIN's authzid names another user: acting for someone else is never granted."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The exchange is over without credentials."""

    problem: Problem
    mechanism: str


Step = Challenge | Credentials | Failed
"""What an exchange says after each line: ask again, done, or failed."""


class Mechanism(ABC):
    """One exchange, from the command that starts it to the credentials."""

    name: str

    @abstractmethod
    def start(self, initial_response: str | None) -> Step:
        """The command arrived, with its initial response when it had one."""

    @abstractmethod
    def respond(self, line: str) -> Step:
        """One more line from the client (cancellation is handled before this)."""

    def _failed(self, problem: Problem) -> Failed:
        return Failed(problem, self.name)


def new_mechanism(name: str, hostname: str) -> Mechanism:
    """An exchange for one of `MECHANISMS` (ValueError for another name)."""
    if name == PLAIN:
        return _Plain()
    if name == LOGIN:
        return _Login()
    if name == CRAM_MD5:
        return _CramMd5(hostname)
    raise ValueError(f"unknown mechanism {name!r}")


def decode(text: str) -> bytes | None:
    """Strict base64 (RFC 4648 §4); "=" is the empty response (RFC 4954 §4, RFC 5034 §4)."""
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


class _Plain(Mechanism):
    name = PLAIN

    def start(self, initial_response: str | None) -> Step:
        if initial_response is None:
            return Challenge("")
        return self.respond(initial_response)

    def respond(self, line: str) -> Step:
        data = decode(line)
        if data is None:
            return self._failed(Problem.UNDECODABLE)
        parts = data.split(b"\x00")
        if len(parts) != 3:
            return self._failed(Problem.MALFORMED)
        authzid, authcid, passwd = (_text(part) for part in parts)
        if authzid is None or not authcid or passwd is None:
            return self._failed(Problem.MALFORMED)
        if authzid and authzid != authcid:
            # Acting for another user (RFC 4616 §2) is not something we grant.
            return self._failed(Problem.REFUSED)
        return Credentials(PLAIN, authcid, password=passwd)


class _Login(Mechanism):
    name = LOGIN

    def __init__(self) -> None:
        self._username: str | None = None

    def start(self, initial_response: str | None) -> Step:
        if initial_response is None:
            return Challenge(encode("Username:"))
        return self.respond(initial_response)

    def respond(self, line: str) -> Step:
        data = decode(line)
        if data is None:
            return self._failed(Problem.UNDECODABLE)
        text = _text(data)
        if text is None:
            return self._failed(Problem.MALFORMED)
        if self._username is None:
            if not text:
                return self._failed(Problem.MALFORMED)
            self._username = text
            return Challenge(encode("Password:"))
        return Credentials(LOGIN, self._username, password=text)


class _CramMd5(Mechanism):
    name = CRAM_MD5

    def __init__(self, hostname: str) -> None:
        # RFC 2195 §2: a unique challenge in the form of a message id.
        self._challenge = f"<{secrets.randbelow(10**10)}.{int(time.time())}@{hostname}>"

    def start(self, initial_response: str | None) -> Step:
        if initial_response is not None:
            return self._failed(Problem.MALFORMED)  # it has none
        return Challenge(encode(self._challenge))

    def respond(self, line: str) -> Step:
        data = decode(line)
        if data is None:
            return self._failed(Problem.UNDECODABLE)
        match = _CRAM_RESPONSE.fullmatch(_text(data) or "")
        if match is None:
            return self._failed(Problem.MALFORMED)
        return Credentials(CRAM_MD5, match[1], challenge=self._challenge, digest=match[2])
