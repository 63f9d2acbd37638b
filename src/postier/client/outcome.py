"""What the protocol core's events mean for the caller: a send's result, or the error to raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from postier.client.errors import (
    ClientError,
    ConnectionLostError,
    DataRefusedError,
    ProtocolViolationError,
    RecipientsRefusedError,
    RefusedError,
    SenderRefusedError,
    ServiceRefusedError,
)
from postier.protocol.smtp import Awaited, ClientEvent, Closed, Rcpt, Reply, TransactionResult

E = TypeVar("E", bound=ClientEvent)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the server said of each recipient, and its reply to the message data."""

    accepted: Mapping[str, Reply]
    refused: Mapping[str, Reply]
    """Recipients the server refused while it took the message for the others."""
    reply: Reply
    """The reply to the message data (the last one's, when 452 split the recipients
    into several transactions)."""
    replies: tuple[Reply, ...] = ()
    """The reply to the data of each transaction, in order (`reply` is the last)."""

    @property
    def ok(self) -> bool:
        """Every recipient accepted the message."""
        return not self.refused


def expect(event: ClientEvent, kind: type[E]) -> E:
    """`event`, checked to be the one the protocol core must give at this point."""
    if not isinstance(event, kind):
        what = f"{type(event).__name__} where {kind.__name__} was due"
        raise ProtocolViolationError(f"unexpected {what}")
    return event


def closed_error(event: Closed, waiting_for: str) -> ClientError:
    """The error for a connection the server ended while `waiting_for` was answered."""
    if event.reply is not None:
        # RFC 5321 §3.8: 421, the service is closing the connection.
        message = f"server closed the connection at {waiting_for}: {event.reply}"
        return ServiceRefusedError(message, event.reply, waiting_for)
    return ConnectionLostError(f"the server closed the connection at {waiting_for}")


def refusal_error(
    result: TransactionResult, step: Awaited, command: str, reply: Reply
) -> RefusedError:
    """The error for a transaction that sent the message to nobody."""
    if step is Awaited.MAIL:
        return SenderRefusedError(f"server refused {command}: {reply}", reply, command)
    if step is Awaited.RCPT:
        refused = result.refused
        if len(refused) == 1:
            message = f"server refused {command}: {reply}"
        else:
            each = "; ".join(f"{Rcpt(r).line()}: {answer}" for r, answer in refused.items())
            message = f"server refused every recipient: {each}"
        return RecipientsRefusedError(message, refused, reply, command)
    return DataRefusedError(f"server refused {command}: {reply}", reply, command)
