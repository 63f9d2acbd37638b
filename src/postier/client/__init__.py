"""postier's SMTP client: `Client` (asyncio) and `SyncClient`, on the shared protocol core."""

from postier.client.compose import (
    Attachment,
    Draft,
    address_of,
    compose,
    header_field,
    parse_header,
)
from postier.client.errors import (
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
    ServiceRefusedError,
    TlsError,
)
from postier.client.outcome import SendResult
from postier.client.session import DEFAULT_TIMEOUT, IMPLICIT_TLS_PORT, Client
from postier.client.sync import SyncClient
from postier.client.tls import Security, client_context
from postier.client.transcript import Transcript

__all__ = [
    "DEFAULT_TIMEOUT",
    "IMPLICIT_TLS_PORT",
    "Attachment",
    "AuthenticationError",
    "Client",
    "ClientError",
    "ClientTimeoutError",
    "ConnectError",
    "ConnectionLostError",
    "DataRefusedError",
    "Draft",
    "NotSupportedError",
    "ProtocolViolationError",
    "RecipientsRefusedError",
    "RefusedError",
    "Security",
    "SendResult",
    "SenderRefusedError",
    "ServiceRefusedError",
    "SyncClient",
    "TlsError",
    "Transcript",
    "address_of",
    "client_context",
    "compose",
    "header_field",
    "parse_header",
]
