"""The client's exceptions; each carries the server's reply when there was one.

ClientError                      base of them all: .reply, .code, .enhanced, .text
├── ConnectError                 the server could not be reached
├── ClientTimeoutError           a step got no answer in time
├── ConnectionLostError          the server hung up in the middle of the dialogue
│   └── ProtocolViolationError   the server sent something that is not SMTP
├── TlsError                     STARTTLS not offered or refused; handshake or certificate
├── AuthenticationError          AUTH refused, not offered, or no mechanism in common
└── RefusedError                 the server said no; .command is what it refused
    ├── ServiceRefusedError      at the greeting, at EHLO/HELO, or 421 at any time
    ├── SenderRefusedError       MAIL FROM
    ├── RecipientsRefusedError   every RCPT TO; .refused holds each recipient's reply
    ├── DataRefusedError         DATA, or the message once sent
    └── NotSupportedError        refused before sending, from what the server announced
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from postier.protocol.smtp import Reply


class ClientError(Exception):
    """Base of the client's errors; the message is one line, fit for the user."""

    def __init__(self, message: str, reply: Reply | None = None) -> None:
        super().__init__(message)
        self.reply = reply

    @property
    def code(self) -> int | None:
        """The server's reply code (RFC 5321 §4.2), None when no reply came into it."""
        return self.reply.code if self.reply else None

    @property
    def enhanced(self) -> str | None:
        """The enhanced status code (RFC 3463), when the server sent one."""
        return self.reply.enhanced if self.reply else None

    @property
    def text(self) -> str:
        """The reply's text, without its codes ("" when there was no reply)."""
        return self.reply.text if self.reply else ""


class ConnectError(ClientError):
    pass


class ClientTimeoutError(ClientError):
    pass


class ConnectionLostError(ClientError):
    pass


class ProtocolViolationError(ConnectionLostError):
    pass


class TlsError(ClientError):
    pass


class AuthenticationError(ClientError):
    pass


class RefusedError(ClientError):
    """The server refused `command` (as a transcript shows it) with `reply`."""

    def __init__(self, message: str, reply: Reply | None = None, command: str = "") -> None:
        super().__init__(message, reply)
        self.command = command


class ServiceRefusedError(RefusedError):
    pass


class SenderRefusedError(RefusedError):
    pass


class RecipientsRefusedError(RefusedError):
    """Every recipient was refused; `refused` maps each one to its reply."""

    def __init__(
        self, message: str, refused: Mapping[str, Reply], reply: Reply, command: str
    ) -> None:
        super().__init__(message, reply, command)
        self.refused = MappingProxyType(dict(refused))


class DataRefusedError(RefusedError):
    pass


class NotSupportedError(RefusedError):
    """The server's EHLO said it cannot take this message (SIZE, SMTPUTF8, 8BITMIME).

    Nothing was sent; `reply` is written by postier the way a server would write it.
    """
