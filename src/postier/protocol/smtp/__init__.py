"""The SMTP protocol core, sans I/O: bytes in, events and bytes out (RFC 5321 and extensions).

Both the server and the client run on it; it never touches a socket or a file.
"""

from postier.protocol.smtp.codes import Enhanced, ReplyCode
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from postier.protocol.smtp.replies import Reply, ReplyParser
from postier.protocol.smtp.server import ServerConnection
from postier.protocol.smtp.waits import NEED_DATA, PAUSED, SEND_FIRST, Wait

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
