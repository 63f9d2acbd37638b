"""The POP3 core's exceptions.

ProtocolError
├── LocalProtocolError   we misused the API (a bug in postier's own code)
└── RemoteProtocolError  the client broke the protocol; carries the response it calls for
"""

from __future__ import annotations

from postier.protocol.pop3.responses import Response


class ProtocolError(Exception):
    """Base of every error raised by `postier.protocol.pop3`."""


class LocalProtocolError(ProtocolError):
    """Our side called the state machine in a way the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The client sent something the protocol does not allow; `response` is the answer,
    so that it always hears a proper `-ERR` and never an exception's text."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.text)
        self.response = response
