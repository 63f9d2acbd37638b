"""The server's side of SMTP AUTH (RFC 4954): the shared SASL mechanisms, in SMTP's words.

The exchanges themselves live in `postier.protocol.sasl` (POP3 runs them too); this
module turns what they say into SMTP's replies: a failure's `Problem` becomes its 501
or 535, a challenge is sent as `334 text` by the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.sasl import (
    Challenge,
    Credentials,
    Failed,
    Mechanism,
    Problem,
    decode,
    encode,
    new_mechanism,
)
from postier.protocol.smtp import catalogue
from postier.protocol.smtp.reply import Reply

__all__ = [
    "Challenge",
    "Credentials",
    "Exchange",
    "Failure",
    "SaslStep",
    "decode",
    "encode",
    "new_exchange",
]


@dataclass(frozen=True, slots=True)
class Failure:
    """The exchange is over without credentials; send `reply`."""

    reply: Reply


SaslStep = Challenge | Credentials | Failure
"""What an exchange says after each line: ask again, done, or failed."""


def failure_reply(failed: Failed) -> Reply:
    """SMTP's words for why an exchange failed."""
    if failed.problem is Problem.UNDECODABLE:
        return catalogue.cannot_decode()
    if failed.problem is Problem.REFUSED:
        return catalogue.auth_failed()
    return catalogue.bad_credentials_syntax(failed.mechanism)


class Exchange:
    """One AUTH exchange, from the command to the credentials."""

    __slots__ = ("_mechanism", "mechanism")

    def __init__(self, mechanism: Mechanism) -> None:
        self._mechanism = mechanism
        self.mechanism = mechanism.name

    def start(self, initial_response: str | None) -> SaslStep:
        """The AUTH command arrived, with its initial response when it had one."""
        return _in_smtp_words(self._mechanism.start(initial_response))

    def respond(self, line: str) -> SaslStep:
        """One more line from the client (cancellation is handled before this)."""
        return _in_smtp_words(self._mechanism.respond(line))


def _in_smtp_words(step: Challenge | Credentials | Failed) -> SaslStep:
    return Failure(failure_reply(step)) if isinstance(step, Failed) else step


def new_exchange(mechanism: str, hostname: str) -> Exchange:
    """An exchange for one of `MECHANISMS`."""
    return Exchange(new_mechanism(mechanism, hostname))
