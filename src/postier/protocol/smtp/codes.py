"""Reply codes (RFC 5321 §4.2) and enhanced status codes (RFC 3463), each defined once."""

from __future__ import annotations

from enum import Enum, IntEnum


class ReplyCode(IntEnum):
    """The three-digit SMTP reply codes postier sends or understands (RFC 5321 §4.2.2-§4.2.3)."""

    SYSTEM_STATUS = 211
    HELP = 214
    SERVICE_READY = 220
    CLOSING = 221
    AUTH_SUCCEEDED = 235
    OK = 250
    CANNOT_VRFY = 252
    AUTH_CONTINUE = 334
    START_MAIL_INPUT = 354
    SERVICE_UNAVAILABLE = 421
    MAILBOX_BUSY = 450
    LOCAL_ERROR = 451
    INSUFFICIENT_STORAGE = 452
    TLS_UNAVAILABLE = 454
    PARAMETERS_UNAVAILABLE = 455
    SYNTAX_ERROR = 500
    PARAMETER_SYNTAX_ERROR = 501
    NOT_IMPLEMENTED = 502
    BAD_SEQUENCE = 503
    PARAMETER_NOT_IMPLEMENTED = 504
    AUTH_REQUIRED = 530
    AUTH_FAILED = 535
    ENCRYPTION_REQUIRED = 538
    MAILBOX_UNAVAILABLE = 550
    USER_NOT_LOCAL = 551
    EXCEEDED_STORAGE = 552
    MAILBOX_NAME_NOT_ALLOWED = 553
    TRANSACTION_FAILED = 554
    PARAMETERS_NOT_RECOGNIZED = 555

    @property
    def is_positive(self) -> bool:
        """2xx and 3xx: the command was accepted (or may go on)."""
        return self < 400


def is_positive(code: int) -> bool:
    """2xx and 3xx replies accept the command; 4xx and 5xx refuse it."""
    return 200 <= code < 400


class Enhanced(Enum):
    """Enhanced status codes (RFC 3463 §3 and the IANA registry, RFC 5248)."""

    OTHER_OK = "2.0.0"
    SENDER_OK = "2.1.0"
    RECIPIENT_OK = "2.1.5"
    AUTH_OK = "2.7.0"
    TRANSIENT_OTHER = "4.0.0"
    TRANSIENT_SYSTEM = "4.3.0"
    TRANSIENT_SHUTDOWN = "4.3.2"
    TRANSIENT_TIMEOUT = "4.4.2"
    TOO_MANY_RECIPIENTS = "4.5.3"
    TRANSIENT_SECURITY = "4.7.0"
    TRANSIENT_NOT_AUTHORIZED = "4.7.1"
    """Greylisting's usual code: not now, from this client, for this sender."""
    PERMANENT_OTHER = "5.0.0"
    BAD_DESTINATION_MAILBOX = "5.1.1"
    BAD_DESTINATION_SYNTAX = "5.1.3"
    BAD_SENDER_SYNTAX = "5.1.7"
    MESSAGE_TOO_BIG = "5.3.4"
    PROTOCOL_OTHER = "5.5.0"
    INVALID_COMMAND = "5.5.1"
    SYNTAX_ERROR = "5.5.2"
    TOO_MANY_RECIPIENTS_PERMANENT = "5.5.3"
    INVALID_PARAMETERS = "5.5.4"
    MEDIA_OTHER = "5.6.0"
    NON_ASCII_ADDRESS = "5.6.7"
    SECURITY_OTHER = "5.7.0"
    AUTH_CREDENTIALS_INVALID = "5.7.8"
    ENCRYPTION_REQUIRED = "5.7.11"
