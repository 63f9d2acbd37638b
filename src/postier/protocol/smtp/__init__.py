"""The SMTP protocol core, sans I/O: bytes in, events and bytes out (RFC 5321 and extensions).

Both the server and the client run on it; it never touches a socket or a file.
"""

from postier.protocol.smtp.address import AddressError, is_domain, validate_mailbox
from postier.protocol.smtp.capabilities import HELO_ONLY, Capabilities
from postier.protocol.smtp.client import ClientConnection
from postier.protocol.smtp.client_envelope import (
    OutgoingEnvelope,
    has_eight_bit,
    refusal_before_sending,
    wire_size,
)
from postier.protocol.smtp.client_events import (
    Authenticated,
    Awaited,
    ClientEvent,
    ClientGreeted,
    Closed,
    DataReady,
    Done,
    Greeting,
    Refused,
    TlsReady,
    TransactionDone,
    TransactionResult,
)
from postier.protocol.smtp.client_state import IDLE
from postier.protocol.smtp.client_transcript import Party
from postier.protocol.smtp.codes import Enhanced, ReplyCode
from postier.protocol.smtp.commands import Auth, Mail, Rcpt
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from postier.protocol.smtp.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    DataStarted,
    MessageComplete,
    MessageRefused,
    RecipientOffered,
    SenderOffered,
    ServerEvent,
    StartTlsRequested,
)
from postier.protocol.smtp.replies import Reply, ReplyParser
from postier.protocol.smtp.sasl_names import LOGIN, MECHANISMS, PLAIN
from postier.protocol.smtp.sasl_server import Credentials
from postier.protocol.smtp.server import ServerConnection
from postier.protocol.smtp.verdicts import ACCEPT, Accept, Verdict
from postier.protocol.smtp.waits import NEED_DATA, PAUSED, SEND_FIRST, Pause, Wait

__all__ = [
    "ACCEPT",
    "HELO_ONLY",
    "IDLE",
    "LOGIN",
    "MECHANISMS",
    "NEED_DATA",
    "PAUSED",
    "PLAIN",
    "SEND_FIRST",
    "Accept",
    "AddressError",
    "Auth",
    "Authenticated",
    "Awaited",
    "Capabilities",
    "ClientConnection",
    "ClientEvent",
    "ClientGreeted",
    "Closed",
    "Closing",
    "CommandRefused",
    "Credentials",
    "CredentialsReceived",
    "DataChunk",
    "DataReady",
    "DataStarted",
    "Done",
    "Enhanced",
    "Greeting",
    "LocalProtocolError",
    "Mail",
    "MessageComplete",
    "MessageRefused",
    "OutgoingEnvelope",
    "Party",
    "Pause",
    "ProtocolError",
    "Rcpt",
    "RecipientOffered",
    "Refused",
    "RemoteProtocolError",
    "Reply",
    "ReplyCode",
    "ReplyParser",
    "SenderOffered",
    "ServerConfig",
    "ServerConnection",
    "ServerEvent",
    "StartTlsRequested",
    "TlsReady",
    "TransactionDone",
    "TransactionResult",
    "Verdict",
    "Wait",
    "has_eight_bit",
    "is_domain",
    "refusal_before_sending",
    "validate_mailbox",
    "wire_size",
]
