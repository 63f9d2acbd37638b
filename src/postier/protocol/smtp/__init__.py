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
from postier.protocol.smtp.client_state import IDLE, ClientState
from postier.protocol.smtp.client_transcript import Party
from postier.protocol.smtp.codes import Enhanced, ReplyCode
from postier.protocol.smtp.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
    verb_of,
)
from postier.protocol.smtp.config import ServerConfig
from postier.protocol.smtp.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from postier.protocol.smtp.events import (
    Closing,
    CommandRefused,
    CredentialsReceived,
    DataChunk,
    DataStarted,
    HeloAccepted,
    MessageComplete,
    MessageRefused,
    RecipientAccepted,
    RecipientOffered,
    SenderOffered,
    ServerEvent,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.smtp.observer import Observer
from postier.protocol.smtp.replies import Reply, ReplyParser
from postier.protocol.smtp.sasl_names import LOGIN, MECHANISMS, PLAIN
from postier.protocol.smtp.sasl_server import Credentials
from postier.protocol.smtp.server import ServerConnection
from postier.protocol.smtp.state import COMMAND_STATES, TRANSITIONS, State
from postier.protocol.smtp.verdicts import ACCEPT, Accept, Verdict
from postier.protocol.smtp.waits import NEED_DATA, PAUSED, SEND_FIRST, Pause, Wait

__all__ = [
    "ACCEPT",
    "COMMAND_STATES",
    "HELO_ONLY",
    "IDLE",
    "LOGIN",
    "MECHANISMS",
    "NEED_DATA",
    "PAUSED",
    "PLAIN",
    "SEND_FIRST",
    "TRANSITIONS",
    "Accept",
    "AddressError",
    "Auth",
    "Authenticated",
    "Awaited",
    "Bdat",
    "Capabilities",
    "ClientConnection",
    "ClientEvent",
    "ClientGreeted",
    "ClientState",
    "Closed",
    "Closing",
    "Command",
    "CommandRefused",
    "Credentials",
    "CredentialsReceived",
    "Data",
    "DataChunk",
    "DataReady",
    "DataStarted",
    "Done",
    "Ehlo",
    "Enhanced",
    "Greeting",
    "Helo",
    "HeloAccepted",
    "Help",
    "LocalProtocolError",
    "Mail",
    "MessageComplete",
    "MessageRefused",
    "Noop",
    "Observer",
    "OutgoingEnvelope",
    "Party",
    "Pause",
    "ProtocolError",
    "Quit",
    "Rcpt",
    "RecipientAccepted",
    "RecipientOffered",
    "Refused",
    "RemoteProtocolError",
    "Reply",
    "ReplyCode",
    "ReplyParser",
    "Rset",
    "SenderOffered",
    "ServerConfig",
    "ServerConnection",
    "ServerEvent",
    "StartTls",
    "StartTlsRequested",
    "State",
    "TlsReady",
    "TransactionDone",
    "TransactionResult",
    "TransactionStarted",
    "Verdict",
    "Vrfy",
    "Wait",
    "has_eight_bit",
    "is_domain",
    "parse_command",
    "refusal_before_sending",
    "validate_mailbox",
    "verb_of",
    "wire_size",
]
