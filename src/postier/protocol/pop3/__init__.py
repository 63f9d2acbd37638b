"""The POP3 server core, sans I/O: bytes in, events and bytes out (RFC 1939, RFC 2449,
RFC 2595, RFC 3206, RFC 5034).

It never touches a socket, a file or the store: the session hands it the maildrop at
login and streams messages through its writer.
"""

from postier.protocol.pop3 import catalogue
from postier.protocol.pop3.config import COMMAND_LINE_LIMIT, Pop3Config
from postier.protocol.pop3.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from postier.protocol.pop3.events import (
    Closing,
    CommandRefused,
    LoginRequested,
    MessageRequested,
    Pop3Event,
    TlsRequested,
    UpdateRequested,
)
from postier.protocol.pop3.maildrop import DropEntry, Maildrop
from postier.protocol.pop3.responses import RespCode, Response
from postier.protocol.pop3.server import Pop3Connection
from postier.protocol.pop3.state import State
from postier.protocol.pop3.waits import NEED_DATA, PAUSED, SEND_FIRST, Wait
from postier.protocol.pop3.wire import MessageWriter, WireSize, wire_size
from postier.protocol.sasl import Credentials

__all__ = [
    "COMMAND_LINE_LIMIT",
    "NEED_DATA",
    "PAUSED",
    "SEND_FIRST",
    "Closing",
    "CommandRefused",
    "Credentials",
    "DropEntry",
    "LocalProtocolError",
    "LoginRequested",
    "Maildrop",
    "MessageRequested",
    "MessageWriter",
    "Pop3Config",
    "Pop3Connection",
    "Pop3Event",
    "ProtocolError",
    "RemoteProtocolError",
    "RespCode",
    "Response",
    "State",
    "TlsRequested",
    "UpdateRequested",
    "Wait",
    "WireSize",
    "catalogue",
    "wire_size",
]
