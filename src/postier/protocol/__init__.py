"""The SMTP protocol core, sans I/O: bytes in, events and bytes out (RFC 5321 and extensions).

Both the server and the client run on it; it never touches a socket or a file.
"""

from postier.protocol.codes import Enhanced, ReplyCode
from postier.protocol.config import ServerConfig
from postier.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from postier.protocol.replies import Reply, ReplyParser
from postier.protocol.server import ServerConnection
from postier.protocol.waits import NEED_DATA, PAUSED, SEND_FIRST, Wait

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "SEND_FIRST",
    "Enhanced",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Reply",
    "ReplyCode",
    "ReplyParser",
    "ServerConfig",
    "ServerConnection",
    "Wait",
]
