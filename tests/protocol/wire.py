"""The replies the server must send, written out byte for byte as a client sees them.

These are the expected values of the tests, so they are spelled out here rather than
taken from `postier.protocol.smtp.catalogue`: a changed code or text must fail a test.
"""

from __future__ import annotations

HOSTNAME = "mx.test"
CLIENT = "client.test"
DEFAULT_SIZE = 32 * 1024 * 1024

GREETING = b"220 mx.test ESMTP postier ready\r\n"


def ehlo(
    *, size: int = DEFAULT_SIZE, starttls: bool = False, name: str = CLIENT, auth: str = ""
) -> bytes:
    keywords = [
        "PIPELINING",
        f"SIZE {size}",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "BINARYMIME",
    ]
    if starttls:
        keywords.append("STARTTLS")
    if auth:
        keywords.append(f"AUTH {auth}")
    lines = [f"{HOSTNAME} greets {name}", *keywords]
    out = [f"250-{line}\r\n" for line in lines[:-1]] + [f"250 {lines[-1]}\r\n"]
    return "".join(out).encode()


def helo(name: str = CLIENT) -> bytes:
    return f"250 {HOSTNAME} greets {name}\r\n".encode()


def sender_ok(address: str) -> bytes:
    return f"250 2.1.0 Sender <{address}> OK\r\n".encode()


def recipient_ok(address: str) -> bytes:
    return f"250 2.1.5 Recipient <{address}> OK\r\n".encode()


START_DATA = b"354 End data with <CR><LF>.<CR><LF>\r\n"
START_DATA_BARE_LF = (
    b"354 End data with <CR><LF>.<CR><LF>: your client ends lines with a bare LF, so "
    b"the final '.' line must be sent with CRLF (use 'nc -C' or telnet)\r\n"
)
STORED = b"250 2.0.0 Ok: stored as Q1\r\n"
OK = b"250 2.0.0 Ok\r\n"
RESET = b"250 2.0.0 Ok: transaction reset\r\n"
CANNOT_VRFY = b"252 2.0.0 Cannot VRFY user, but will accept message\r\n"
HELP = (
    b"214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH\r\n"
    b"214 2.0.0 See RFC 5321; end the message data with a line holding a single '.'\r\n"
)
BYE = b"221 2.0.0 mx.test closing connection, bye\r\n"
READY_FOR_TLS = b"220 2.0.0 Ready to start TLS\r\n"
AUTH_OK = b"235 2.7.0 Authentication successful\r\n"


def chunk_received(size: int) -> bytes:
    return f"250 2.0.0 Ok: {size} octets received\r\n".encode()


def challenge(text: str) -> bytes:
    return f"334 {text}\r\n".encode()


# --- refusals ------------------------------------------------------------------------

UNRECOGNIZED = b"500 5.5.1 Error: command not recognized\r\n"
LINE_TOO_LONG = b"500 5.5.2 Error: line too long\r\n"
BAD_CHARACTERS = b"500 5.5.2 Error: invalid characters in command\r\n"


def not_implemented(verb: str) -> bytes:
    return f"502 5.5.1 Error: {verb} not implemented\r\n".encode()


def syntax(usage: str) -> bytes:
    return f"501 5.5.4 Syntax: {usage}\r\n".encode()


def bad_sender(why: str) -> bytes:
    return f"501 5.1.7 Bad sender address: {why}\r\n".encode()


def bad_recipient(why: str) -> bytes:
    return f"501 5.1.3 Bad recipient address: {why}\r\n".encode()


def bad_parameter(why: str) -> bytes:
    return f"501 5.5.4 Error: {why}\r\n".encode()


def unsupported_parameter(keyword: str) -> bytes:
    return f"555 5.5.4 Error: parameter {keyword} not supported\r\n".encode()


NEEDS_SMTPUTF8 = b"553 5.6.7 Error: non-ASCII address requires MAIL FROM with SMTPUTF8\r\n"
NEED_HELO = b"503 5.5.1 Error: send HELO/EHLO first\r\n"
NEED_MAIL = b"503 5.5.1 Error: need MAIL command\r\n"
NEED_RCPT = b"503 5.5.1 Error: need RCPT command\r\n"
NESTED_MAIL = b"503 5.5.1 Error: nested MAIL command\r\n"
TRANSACTION_IN_PROGRESS = b"503 5.5.1 Error: MAIL transaction in progress\r\n"
TLS_ALREADY_ACTIVE = b"503 5.5.1 Error: TLS already active\r\n"
TOO_MANY_RECIPIENTS = b"452 4.5.3 Error: too many recipients\r\n"
TOO_MANY_ERRORS = b"421 4.7.0 mx.test Error: too many errors, closing connection\r\n"
TIMEOUT = b"421 4.4.2 mx.test Error: timeout exceeded, closing connection\r\n"
SHUTTING_DOWN = b"421 4.3.2 mx.test Service shutting down, closing connection\r\n"
TOO_MANY_CONNECTIONS = b"421 4.7.0 mx.test Error: too many connections, try again later\r\n"


AUTH_FAILED = b"535 5.7.8 Error: authentication credentials invalid\r\n"
AUTH_CANCELLED = b"501 5.0.0 Error: authentication cancelled\r\n"
CANNOT_DECODE = b"501 5.5.2 Error: cannot decode the response (base64 expected)\r\n"
UNKNOWN_MECHANISM = b"504 5.5.4 Error: unrecognized authentication type\r\n"
ALREADY_AUTHENTICATED = b"503 5.5.1 Error: already authenticated\r\n"
AUTH_NEEDS_EHLO = b"503 5.5.1 Error: send EHLO first\r\n"
AUTH_NEEDS_TLS = b"538 5.7.11 Error: encryption required for requested authentication mechanism\r\n"
AUTH_REQUIRED = b"530 5.7.0 Error: authentication required\r\n"
STARTTLS_FIRST = b"530 5.7.0 Error: must issue a STARTTLS command first\r\n"
TOO_MANY_AUTH_FAILURES = (
    b"421 4.7.0 mx.test Error: too many failed authentication attempts, closing connection\r\n"
)
CHUNKING_IN_PROGRESS = (
    b"503 5.5.1 Error: BDAT transfer in progress, end it with BDAT LAST or RSET\r\n"
)
DATA_WITH_BINARYMIME = b"503 5.5.1 Error: BODY=BINARYMIME needs BDAT, not DATA\r\n"
BDAT_SIZE_UNREADABLE = b"554 5.5.4 Error: BDAT without a readable size, closing connection\r\n"


def malformed(mechanism: str) -> bytes:
    return f"501 5.5.2 Error: malformed {mechanism} response\r\n".encode()


def size_exceeded(limit: int) -> bytes:
    return f"552 5.3.4 Error: message size exceeds fixed limit of {limit} bytes\r\n".encode()


DATA_LINE_TOO_LONG = (
    b"554 5.6.0 Error: message refused, a line is longer than 1000 octets (RFC 5321 4.5.3.1.6)\r\n"
)
