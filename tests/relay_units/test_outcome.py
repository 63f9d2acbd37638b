"""`relay/outcome.py`: what one try upstream means for each recipient (RFC 5321 §4.2.1):
delivered, put off (4yz, or no usable connection) or refused for good (5yz)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from postier.client import (
    AuthenticationError,
    ClientError,
    ClientTimeoutError,
    ConnectError,
    ConnectionLostError,
    DataRefusedError,
    NotSupportedError,
    ProtocolViolationError,
    RecipientsRefusedError,
    RefusedError,
    SenderRefusedError,
    SendResult,
    ServiceRefusedError,
    TlsError,
)
from postier.protocol.smtp import Reply
from postier.relay.outcome import Outcome, of_error, of_result

RCPTS = ("a@out.test", "b@out.test")


def _reply(code: int, text: str = "said") -> Reply:
    return Reply(code, (text,), f"{code // 100}.0.0")


ERRORS: list[tuple[str, ClientError, str, bool]] = [
    # name, error, group every recipient falls in, broken connection
    ("connection refused", ConnectError("cannot connect: refused"), "deferred", True),
    ("timed out", ClientTimeoutError("no reply to MAIL in 60s"), "deferred", True),
    ("broken", ConnectionLostError("the server hung up"), "deferred", True),
    ("not SMTP", ProtocolViolationError("not a reply: b'HTTP/1.1'"), "deferred", True),
    ("TLS failed", TlsError("certificate verify failed"), "deferred", True),
    ("AUTH refused", AuthenticationError("535 no", _reply(535)), "deferred", True),
    ("421 at any time", ServiceRefusedError("421", _reply(421), "MAIL"), "deferred", True),
    ("554 greeting", ServiceRefusedError("554", _reply(554)), "deferred", True),
    ("MAIL 451", SenderRefusedError("451", _reply(451), "MAIL"), "deferred", False),
    ("MAIL 550", SenderRefusedError("550", _reply(550), "MAIL"), "failed", False),
    ("DATA 452", DataRefusedError("452", _reply(452), "DATA"), "deferred", False),
    ("end of data 451", DataRefusedError("451", _reply(451), "."), "deferred", False),
    ("end of data 554", DataRefusedError("554", _reply(554), "."), "failed", False),
    ("too big for SIZE", NotSupportedError("552", _reply(552), "MAIL"), "failed", False),
    ("refused with no reply", RefusedError("refused"), "deferred", False),
]


@pytest.mark.parametrize(
    ("error", "group", "broken"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_an_error_puts_every_recipient_in_one_group(
    error: ClientError, group: str, broken: bool
) -> None:
    outcome = of_error(error, RCPTS)
    expected = dict.fromkeys(RCPTS, str(error))
    assert outcome == Outcome(
        {},
        expected if group == "deferred" else {},
        expected if group == "failed" else {},
        broken=broken,
    )


def test_every_recipient_refused_splits_them_by_each_reply() -> None:
    refused = {"a@out.test": _reply(450, "busy"), "b@out.test": _reply(550, "unknown")}
    error = RecipientsRefusedError("every recipient refused", refused, _reply(554), "RCPT")
    assert of_error(error, RCPTS) == Outcome(
        {}, {"a@out.test": "450 4.0.0 busy"}, {"b@out.test": "550 5.0.0 unknown"}
    )


RESULTS: list[tuple[str, dict[str, int], dict[str, int], dict[str, str], dict[str, str]]] = [
    # name, accepted, refused (codes), deferred, failed
    ("all taken", {"a@out.test": 250, "b@out.test": 250}, {}, {}, {}),
    ("one 450", {"a@out.test": 250}, {"b@out.test": 450}, {"b@out.test": "450 4.0.0 said"}, {}),
    ("one 550", {"a@out.test": 250}, {"b@out.test": 550}, {}, {"b@out.test": "550 5.0.0 said"}),
    ("499", {"a@out.test": 250}, {"b@out.test": 499}, {"b@out.test": "499 4.0.0 said"}, {}),
    ("500", {"a@out.test": 250}, {"b@out.test": 500}, {}, {"b@out.test": "500 5.0.0 said"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("accepted", "refused", "deferred", "failed"),
    [r[1:] for r in RESULTS],
    ids=[r[0] for r in RESULTS],
)
def test_a_result_delivers_the_accepted_and_splits_the_refused(
    accepted: dict[str, int],
    refused: dict[str, int],
    deferred: dict[str, str],
    failed: dict[str, str],
) -> None:
    final = _reply(250, "queued as X")
    result = SendResult(
        MappingProxyType({r: _reply(c) for r, c in accepted.items()}),
        MappingProxyType({r: _reply(c) for r, c in refused.items()}),
        final,
    )
    outcome = of_result(result)
    # Delivered says the end of data's reply, the one that means the upstream has it.
    assert outcome == Outcome(dict.fromkeys(accepted, "250 2.0.0 queued as X"), deferred, failed)
    assert not outcome.broken
