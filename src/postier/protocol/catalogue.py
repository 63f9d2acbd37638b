"""Every reply the server sends, each text written once; and the client's own refusals.

Codes follow RFC 5321 §4.2-§4.3, enhanced codes RFC 3463 and its registry (RFC 5248).
The greeting and the EHLO/HELO answers carry no enhanced code (RFC 2034 §3). AUTH's
replies are written in `catalogue_auth.py` and reached from here like the others.
"""

from __future__ import annotations

import functools

from postier.protocol import catalogue_auth
from postier.protocol.codes import Enhanced, ReplyCode
from postier.protocol.reply import Reply, reply

# AUTH's replies (RFC 4954), written in `catalogue_auth.py`, reached here like the others.
already_authenticated = catalogue_auth.already_authenticated
auth_cancelled = catalogue_auth.auth_cancelled
auth_challenge = catalogue_auth.auth_challenge
auth_failed = catalogue_auth.auth_failed
auth_needs_ehlo = catalogue_auth.auth_needs_ehlo
auth_needs_tls = catalogue_auth.auth_needs_tls
auth_required = catalogue_auth.auth_required
auth_succeeded = catalogue_auth.auth_succeeded
bad_credentials_syntax = catalogue_auth.bad_credentials_syntax
cannot_decode = catalogue_auth.cannot_decode
starttls_first = catalogue_auth.starttls_first
too_many_auth_failures = catalogue_auth.too_many_auth_failures
unknown_mechanism = catalogue_auth.unknown_mechanism

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. What the client
# sent is echoed at most this many characters (4 octets each in UTF-8 at worst).
MAX_ECHO = 100


def _echo(text: str) -> str:
    """Client text as quoted back in a reply, cut short so the line stays within limits."""
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def _unavailable(hostname: str, status: Enhanced, text: str) -> Reply:
    """A 421: the service is closing this connection (RFC 5321 §3.8), our name first."""
    return reply(ReplyCode.SERVICE_UNAVAILABLE, status, f"{hostname} {text}")


def _out_of_sequence(text: str) -> Reply:
    """A 503: a command in the wrong place (RFC 5321 §4.1.4)."""
    return reply(ReplyCode.BAD_SEQUENCE, Enhanced.INVALID_COMMAND, f"Error: {text}")


def greeting(hostname: str, software: str) -> Reply:
    return reply(ReplyCode.SERVICE_READY, None, f"{hostname} ESMTP {software} ready")


def ehlo(hostname: str, client_name: str, keywords: list[str]) -> Reply:
    return reply(ReplyCode.OK, None, f"{hostname} greets {_echo(client_name)}", *keywords)


def helo(hostname: str, client_name: str) -> Reply:
    return reply(ReplyCode.OK, None, f"{hostname} greets {_echo(client_name)}")


def sender_ok(sender: str) -> Reply:
    return reply(ReplyCode.OK, Enhanced.SENDER_OK, f"Sender <{sender}> OK")


def recipient_ok(recipient: str) -> Reply:
    return reply(ReplyCode.OK, Enhanced.RECIPIENT_OK, f"Recipient <{recipient}> OK")


@functools.cache  # two possible replies, one per DATA: build each once
def start_data(bare_lf_client: bool) -> Reply:
    if bare_lf_client:
        # A learner typing into `nc` sends bare LF, which can never end the data
        # (RFC 5321 §4.1.1.4, and SMTP smuggling): say how to send a real CRLF.
        return reply(
            ReplyCode.START_MAIL_INPUT,
            None,
            "End data with <CR><LF>.<CR><LF>: your client ends lines with a bare LF, so "
            "the final '.' line must be sent with CRLF (use 'nc -C' or telnet)",
        )
    return reply(ReplyCode.START_MAIL_INPUT, None, "End data with <CR><LF>.<CR><LF>")


def stored(queue_id: str) -> Reply:
    return reply(ReplyCode.OK, Enhanced.OTHER_OK, f"Ok: stored as {queue_id}")


def ok() -> Reply:
    return reply(ReplyCode.OK, Enhanced.OTHER_OK, "Ok")


def reset_ok() -> Reply:
    return reply(ReplyCode.OK, Enhanced.OTHER_OK, "Ok: transaction reset")


def cannot_vrfy() -> Reply:
    return reply(
        ReplyCode.CANNOT_VRFY, Enhanced.OTHER_OK, "Cannot VRFY user, but will accept message"
    )


def help_text() -> Reply:
    return reply(
        ReplyCode.HELP,
        Enhanced.OTHER_OK,
        "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH",
        "See RFC 5321; end the message data with a line holding a single '.'",
    )


def closing(hostname: str) -> Reply:
    return reply(ReplyCode.CLOSING, Enhanced.OTHER_OK, f"{hostname} closing connection, bye")


def ready_for_tls() -> Reply:
    return reply(ReplyCode.SERVICE_READY, Enhanced.OTHER_OK, "Ready to start TLS")


def chunk_received(size: int) -> Reply:
    return reply(ReplyCode.OK, Enhanced.OTHER_OK, f"Ok: {size} octets received")


# --- refusals -----------------------------------------------------------------------


def command_unrecognized() -> Reply:
    return reply(ReplyCode.SYNTAX_ERROR, Enhanced.INVALID_COMMAND, "Error: command not recognized")


def line_too_long() -> Reply:
    return reply(ReplyCode.SYNTAX_ERROR, Enhanced.SYNTAX_ERROR, "Error: line too long")


def bad_characters() -> Reply:
    return reply(
        ReplyCode.SYNTAX_ERROR, Enhanced.SYNTAX_ERROR, "Error: invalid characters in command"
    )


def not_implemented(verb: str) -> Reply:
    return reply(
        ReplyCode.NOT_IMPLEMENTED, Enhanced.INVALID_COMMAND, f"Error: {verb} not implemented"
    )


def syntax(usage: str) -> Reply:
    return reply(ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.INVALID_PARAMETERS, f"Syntax: {usage}")


def bad_sender(why: str) -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.BAD_SENDER_SYNTAX, f"Bad sender address: {why}"
    )


def bad_recipient(why: str) -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR,
        Enhanced.BAD_DESTINATION_SYNTAX,
        f"Bad recipient address: {why}",
    )


def bad_parameter(why: str) -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.INVALID_PARAMETERS, f"Error: {_echo(why)}"
    )


def unsupported_parameter(keyword: str) -> Reply:
    return reply(
        ReplyCode.PARAMETERS_NOT_RECOGNIZED,
        Enhanced.INVALID_PARAMETERS,
        f"Error: parameter {_echo(keyword)} not supported",
    )


def needs_smtputf8() -> Reply:
    # RFC 6531 §3.5: a non-ASCII address without the SMTPUTF8 parameter.
    return reply(
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        Enhanced.NON_ASCII_ADDRESS,
        "Error: non-ASCII address requires MAIL FROM with SMTPUTF8",
    )


def need_helo() -> Reply:
    return _out_of_sequence("send HELO/EHLO first")


def need_mail() -> Reply:
    return _out_of_sequence("need MAIL command")


def need_rcpt() -> Reply:
    return _out_of_sequence("need RCPT command")


def nested_mail() -> Reply:
    return _out_of_sequence("nested MAIL command")


def transaction_in_progress() -> Reply:
    return _out_of_sequence("MAIL transaction in progress")


def chunking_in_progress() -> Reply:
    # RFC 3030 §2: DATA and BDAT do not mix, and recipients come before the first chunk.
    return reply(
        ReplyCode.BAD_SEQUENCE,
        Enhanced.INVALID_COMMAND,
        "Error: BDAT transfer in progress, end it with BDAT LAST or RSET",
    )


def data_with_binarymime() -> Reply:
    # RFC 3030 §3: DATA after BODY=BINARYMIME "MUST" be refused with 503.
    return reply(
        ReplyCode.BAD_SEQUENCE,
        Enhanced.INVALID_COMMAND,
        "Error: BODY=BINARYMIME needs BDAT, not DATA",
    )


def bdat_size_unreadable() -> Reply:
    # Without a size, the data that follows cannot be told from commands: closing is
    # the only safe way on (RFC 3030 §2, §4).
    return reply(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.INVALID_PARAMETERS,
        "Error: BDAT without a readable size, closing connection",
    )


def tls_already_active() -> Reply:
    return _out_of_sequence("TLS already active")


def tls_unavailable() -> Reply:
    return reply(ReplyCode.TLS_UNAVAILABLE, Enhanced.TRANSIENT_SECURITY, "TLS not available")


def size_exceeded(limit: int) -> Reply:
    return reply(
        ReplyCode.EXCEEDED_STORAGE,
        Enhanced.MESSAGE_TOO_BIG,
        f"Error: message size exceeds fixed limit of {limit} bytes",
    )


def too_many_recipients() -> Reply:
    return reply(
        ReplyCode.INSUFFICIENT_STORAGE, Enhanced.TOO_MANY_RECIPIENTS, "Error: too many recipients"
    )


def data_line_too_long(limit: int) -> Reply:
    return reply(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.MEDIA_OTHER,
        f"Error: message refused, a line is longer than {limit} octets (RFC 5321 4.5.3.1.6)",
    )


def too_many_errors(hostname: str) -> Reply:
    # 421, not 5xx: a client cut off in the middle of a transaction must retry later,
    # not bounce the message (Postfix and Sendmail answer the same way).
    return _unavailable(
        hostname, Enhanced.TRANSIENT_SECURITY, "Error: too many errors, closing connection"
    )


def delivery_failed() -> Reply:
    return reply(
        ReplyCode.LOCAL_ERROR,
        Enhanced.TRANSIENT_SYSTEM,
        "Error: local error in processing, try again later",
    )


def timeout(hostname: str) -> Reply:
    return _unavailable(
        hostname, Enhanced.TRANSIENT_TIMEOUT, "Error: timeout exceeded, closing connection"
    )


def internal_error(hostname: str) -> Reply:
    return _unavailable(
        hostname,
        Enhanced.TRANSIENT_SYSTEM,
        "Error: local error, closing connection; try again later",
    )


def shutting_down(hostname: str) -> Reply:
    return _unavailable(
        hostname, Enhanced.TRANSIENT_SHUTDOWN, "Service shutting down, closing connection"
    )


def too_many_connections(hostname: str) -> Reply:
    return _unavailable(
        hostname, Enhanced.TRANSIENT_SECURITY, "Error: too many connections, try again later"
    )


def too_many_connections_from_you(hostname: str) -> Reply:
    return _unavailable(
        hostname,
        Enhanced.TRANSIENT_SECURITY,
        "Error: too many connections from your address, try again later",
    )


def too_many_errors_from_you(hostname: str) -> Reply:
    return _unavailable(
        hostname,
        Enhanced.TRANSIENT_SECURITY,
        "Error: too many errors from your address, try again later",
    )


# --- the client's own refusals, written as a server would (`envelope.refusal`) ---------


def message_over_size_limit(size: int, limit: int) -> Reply:
    # RFC 1870 §6.1: a client should not send what the server said it would refuse.
    return reply(
        ReplyCode.EXCEEDED_STORAGE,
        Enhanced.MESSAGE_TOO_BIG,
        f"message is {size} octets, the server takes at most {limit} (SIZE)",
    )


def smtputf8_not_offered() -> Reply:
    # RFC 6531 §3.2: without the extension a UTF-8 address or header cannot be sent.
    return reply(
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        Enhanced.NON_ASCII_ADDRESS,
        "non-ASCII addresses or headers need SMTPUTF8, which the server does not offer",
    )


def eight_bit_not_offered() -> Reply:
    # RFC 6152 §3: 8-bit data only goes to a server that offers 8BITMIME.
    return reply(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.MEDIA_OTHER,
        "message holds 8-bit data and the server does not offer 8BITMIME",
    )
