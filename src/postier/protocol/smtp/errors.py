"""The protocol core's exceptions.

ProtocolError
├── LocalProtocolError   we misused the API (a bug in postier's own code)
└── RemoteProtocolError  the peer broke the protocol; carries the reply it calls for
"""

from __future__ import annotations

from postier.protocol.smtp.reply import Reply


class ProtocolError(Exception):
    """Base of every error raised by `postier.protocol.smtp`."""


class LocalProtocolError(ProtocolError):
    """Our side called the state machine in a way the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow.

    `reply` is what a server should answer (for the server role), so that the
    peer always gets a proper SMTP reply and never an exception's text.
    """

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply
