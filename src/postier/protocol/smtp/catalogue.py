"""Every reply the server sends, each text written once (the client's own refusals are
`client_refusals.py`'s).

Codes follow RFC 5321 §4.2-§4.3, enhanced codes RFC 3463 and its registry (RFC 5248).
The greeting and the EHLO/HELO answers carry no enhanced code (RFC 2034 §3).
"""

from __future__ import annotations

import functools

from postier.protocol.smtp.codes import Enhanced, ReplyCode
from postier.protocol.smtp.reply import Reply, reply

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. What the client
# sent is echoed at most this many characters (4 octets each in UTF-8 at worst).
MAX_ECHO = 100


def _echo(text: str) -> str:
    """Client text as quoted back in a reply, cut short so the line stays within limits."""
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def _unavailable(hostname: str, status: Enhanced, text: str) -> Reply:
    """A 421: the service is closing this connection (RFC 5321 §3.8), our name first."""
    return reply(ReplyCode.SERVICE_UNAVAILABLE, status, f"{hostname} {text}")


def _turned_away(hostname: str, text: str) -> Reply:
    """A 421 for a client over one of our limits (4.7.0: a policy, not a fault)."""
    return _unavailable(hostname, Enhanced.TRANSIENT_SECURITY, f"Error: {text}")


def _out_of_sequence(text: str) -> Reply:
    """A 503: a command in the wrong place (RFC 5321 §4.1.4)."""
    return _error(ReplyCode.BAD_SEQUENCE, Enhanced.INVALID_COMMAND, text)


def _error(code: ReplyCode, status: Enhanced, text: str) -> Reply:
    """A refusal in the house form: "Error: " and what went wrong."""
    return reply(code, status, f"Error: {text}")


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


def auth_challenge(challenge: str) -> Reply:
    # RFC 4954 §4: the text of a 334 is the base64 challenge alone, no enhanced code.
    return reply(ReplyCode.AUTH_CONTINUE, None, challenge)


def auth_succeeded() -> Reply:
    return reply(ReplyCode.AUTH_SUCCEEDED, Enhanced.AUTH_OK, "Authentication successful")


# --- authentication refusals (RFC 4954 §4, §6) ------------------------------------------


def auth_failed() -> Reply:
    return _error(
        ReplyCode.AUTH_FAILED,
        Enhanced.AUTH_CREDENTIALS_INVALID,
        "authentication credentials invalid",
    )


def auth_cancelled() -> Reply:
    return _error(
        ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.PERMANENT_OTHER, "authentication cancelled"
    )


def cannot_decode() -> Reply:
    return _error(
        ReplyCode.PARAMETER_SYNTAX_ERROR,
        Enhanced.SYNTAX_ERROR,
        "cannot decode the response (base64 expected)",
    )


def bad_credentials_syntax(mechanism: str) -> Reply:
    return _error(
        ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.SYNTAX_ERROR, f"malformed {mechanism} response"
    )


def unknown_mechanism() -> Reply:
    return _error(
        ReplyCode.PARAMETER_NOT_IMPLEMENTED,
        Enhanced.INVALID_PARAMETERS,
        "unrecognized authentication type",
    )


def already_authenticated() -> Reply:
    return _out_of_sequence("already authenticated")


def auth_needs_ehlo() -> Reply:
    return _out_of_sequence("send EHLO first")


def auth_needs_tls() -> Reply:
    return _error(
        ReplyCode.ENCRYPTION_REQUIRED,
        Enhanced.ENCRYPTION_REQUIRED,
        "encryption required for requested authentication mechanism",
    )


def auth_required() -> Reply:
    return _error(ReplyCode.AUTH_REQUIRED, Enhanced.SECURITY_OTHER, "authentication required")


def starttls_first() -> Reply:
    return _error(
        ReplyCode.AUTH_REQUIRED, Enhanced.SECURITY_OTHER, "must issue a STARTTLS command first"
    )


def too_many_auth_failures(hostname: str) -> Reply:
    return _turned_away(hostname, "too many failed authentication attempts, closing connection")


# --- refusals -----------------------------------------------------------------------


def command_unrecognized() -> Reply:
    return _error(ReplyCode.SYNTAX_ERROR, Enhanced.INVALID_COMMAND, "command not recognized")


def line_too_long() -> Reply:
    return _error(ReplyCode.SYNTAX_ERROR, Enhanced.SYNTAX_ERROR, "line too long")


def bad_characters() -> Reply:
    return _error(ReplyCode.SYNTAX_ERROR, Enhanced.SYNTAX_ERROR, "invalid characters in command")


def not_implemented(verb: str) -> Reply:
    return _error(ReplyCode.NOT_IMPLEMENTED, Enhanced.INVALID_COMMAND, f"{verb} not implemented")


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
    return _error(ReplyCode.PARAMETER_SYNTAX_ERROR, Enhanced.INVALID_PARAMETERS, f"{_echo(why)}")


def unsupported_parameter(keyword: str) -> Reply:
    return _error(
        ReplyCode.PARAMETERS_NOT_RECOGNIZED,
        Enhanced.INVALID_PARAMETERS,
        f"parameter {_echo(keyword)} not supported",
    )


def needs_smtputf8() -> Reply:
    # RFC 6531 §3.5: a non-ASCII address without the SMTPUTF8 parameter.
    return _error(
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        Enhanced.NON_ASCII_ADDRESS,
        "non-ASCII address requires MAIL FROM with SMTPUTF8",
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
    return _out_of_sequence("BDAT transfer in progress, end it with BDAT LAST or RSET")


def data_with_binarymime() -> Reply:
    # RFC 3030 §3: DATA after BODY=BINARYMIME "MUST" be refused with 503.
    return _out_of_sequence("BODY=BINARYMIME needs BDAT, not DATA")


def bdat_size_unreadable() -> Reply:
    # Without a size, the data that follows cannot be told from commands: closing is
    # the only safe way on (RFC 3030 §2, §4).
    return _error(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.INVALID_PARAMETERS,
        "BDAT without a readable size, closing connection",
    )


def tls_already_active() -> Reply:
    return _out_of_sequence("TLS already active")


def tls_unavailable() -> Reply:
    return reply(ReplyCode.TLS_UNAVAILABLE, Enhanced.TRANSIENT_SECURITY, "TLS not available")


def size_exceeded(limit: int) -> Reply:
    return _error(
        ReplyCode.EXCEEDED_STORAGE,
        Enhanced.MESSAGE_TOO_BIG,
        f"message size exceeds fixed limit of {limit} bytes",
    )


def too_many_recipients() -> Reply:
    return _error(
        ReplyCode.INSUFFICIENT_STORAGE, Enhanced.TOO_MANY_RECIPIENTS, "too many recipients"
    )


# --- the session's policy (`--accept`, `--reject`) and chaos (`--chaos`) ---------------


def recipient_not_accepted(recipient: str) -> Reply:
    # RFC 3463 §3.2: X.1.1, "the mailbox specified in the address does not exist".
    return _error(
        ReplyCode.MAILBOX_UNAVAILABLE,
        Enhanced.BAD_DESTINATION_MAILBOX,
        f"no mailbox here for <{_echo(recipient)}>",
    )


def greylisted(seconds: float) -> Reply:
    # The first attempt of a (client, sender, recipient) is put off: a real mail server
    # retries (RFC 5321 §4.5.4.1), a spam cannon seldom does.
    return _error(
        ReplyCode.LOCAL_ERROR,
        Enhanced.TRANSIENT_NOT_AUTHORIZED,
        f"greylisted, try again in {seconds:g} seconds",
    )


def chaos(code: int, step: str) -> Reply:
    """A failure made on purpose (`--chaos`): any code from 400 to 599, and the enhanced
    code of its class, X.0.0 (RFC 3463 §3.1: "other undefined status")."""
    return Reply(code, (f"Error: chaos {step} error (--chaos)",), f"{code // 100}.0.0")


def data_line_too_long(limit: int) -> Reply:
    return _error(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.MEDIA_OTHER,
        f"message refused, a line is longer than {limit} octets (RFC 5321 4.5.3.1.6)",
    )


def too_many_errors(hostname: str) -> Reply:
    # 421, not 5xx: a client cut off in the middle of a transaction must retry later,
    # not bounce the message (Postfix and Sendmail answer the same way).
    return _turned_away(hostname, "too many errors, closing connection")


def delivery_failed() -> Reply:
    return _error(
        ReplyCode.LOCAL_ERROR,
        Enhanced.TRANSIENT_SYSTEM,
        "local error in processing, try again later",
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
    return _turned_away(hostname, "too many connections, try again later")


def too_many_connections_from_you(hostname: str) -> Reply:
    return _turned_away(hostname, "too many connections from your address, try again later")


def too_many_errors_from_you(hostname: str) -> Reply:
    return _turned_away(hostname, "too many errors from your address, try again later")
