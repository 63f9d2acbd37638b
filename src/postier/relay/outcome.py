"""What one try upstream did for each recipient: delivered, put off, or refused for good.

RFC 5321 §4.2.1: a 4yz reply is a transient failure (try again later), a 5yz one a
permanent failure; a connection that could not be made, broke, or timed out is
transient. A refusal of the whole message (MAIL, DATA, or its end) counts for every
recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from postier.client import (
    ClientError,
    RecipientsRefusedError,
    RefusedError,
    SendResult,
    ServiceRefusedError,
)
from postier.protocol.smtp import Reply


@dataclass(frozen=True, slots=True)
class Outcome:
    """Each recipient of one try, in one of three groups; `reply` is said of the others."""

    delivered: Mapping[str, str] = field(default_factory=dict)
    deferred: Mapping[str, str] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)
    broken: bool = False
    """The connection is unusable now: the next message needs a new one."""


def of_result(result: SendResult) -> Outcome:
    deferred, failed = _split(result.refused)
    delivered = dict.fromkeys(result.accepted, str(result.reply))  # the end of data's reply
    return Outcome(delivered, deferred, failed)


def of_error(error: ClientError, recipients: tuple[str, ...]) -> Outcome:
    """The outcome of a try that ended with `error`."""
    if isinstance(error, RecipientsRefusedError):
        deferred, failed = _split(error.refused)
        return Outcome({}, deferred, failed)
    said = str(error)
    if isinstance(error, RefusedError) and not isinstance(error, ServiceRefusedError):
        permanent = error.reply is not None and error.reply.code >= 500
        every = dict.fromkeys(recipients, said)
        return Outcome({}, {}, every) if permanent else Outcome({}, every, {})
    # Unreachable, timed out, broken, TLS or AUTH failed, or a 421: a later try may work.
    return Outcome({}, dict.fromkeys(recipients, said), {}, broken=True)


def _split(refused: Mapping[str, Reply]) -> tuple[dict[str, str], dict[str, str]]:
    deferred = {r: str(reply) for r, reply in refused.items() if reply.code < 500}
    failed = {r: str(reply) for r, reply in refused.items() if reply.code >= 500}
    return deferred, failed
