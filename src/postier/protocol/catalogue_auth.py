"""The replies of AUTH (RFC 4954 §4, §6), each text written once; `catalogue` re-exports them."""

from __future__ import annotations

from postier.protocol.codes import Enhanced, ReplyCode
from postier.protocol.reply import Reply, reply


def auth_challenge(challenge: str) -> Reply:
    # RFC 4954 §4: the text of a 334 is the base64 challenge alone, no enhanced code.
    return reply(ReplyCode.AUTH_CONTINUE, None, challenge)


def auth_succeeded() -> Reply:
    return reply(ReplyCode.AUTH_SUCCEEDED, Enhanced.AUTH_OK, "Authentication successful")


# --- authentication refusals (RFC 4954 §4, §6) ------------------------------------------


def auth_failed() -> Reply:
    return reply(
        ReplyCode.AUTH_FAILED,
        Enhanced.AUTH_CREDENTIALS_INVALID,
        "Error: authentication credentials invalid",
    )


def auth_cancelled() -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR,
        Enhanced.PERMANENT_OTHER,
        "Error: authentication cancelled",
    )


def cannot_decode() -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR,
        Enhanced.SYNTAX_ERROR,
        "Error: cannot decode the response (base64 expected)",
    )


def bad_credentials_syntax(mechanism: str) -> Reply:
    return reply(
        ReplyCode.PARAMETER_SYNTAX_ERROR,
        Enhanced.SYNTAX_ERROR,
        f"Error: malformed {mechanism} response",
    )


def unknown_mechanism() -> Reply:
    return reply(
        ReplyCode.PARAMETER_NOT_IMPLEMENTED,
        Enhanced.INVALID_PARAMETERS,
        "Error: unrecognized authentication type",
    )


def already_authenticated() -> Reply:
    return reply(ReplyCode.BAD_SEQUENCE, Enhanced.INVALID_COMMAND, "Error: already authenticated")


def auth_needs_ehlo() -> Reply:
    return reply(ReplyCode.BAD_SEQUENCE, Enhanced.INVALID_COMMAND, "Error: send EHLO first")


def auth_needs_tls() -> Reply:
    return reply(
        ReplyCode.ENCRYPTION_REQUIRED,
        Enhanced.ENCRYPTION_REQUIRED,
        "Error: encryption required for requested authentication mechanism",
    )


def auth_required() -> Reply:
    return reply(ReplyCode.AUTH_REQUIRED, Enhanced.SECURITY_OTHER, "Error: authentication required")


def starttls_first() -> Reply:
    return reply(
        ReplyCode.AUTH_REQUIRED,
        Enhanced.SECURITY_OTHER,
        "Error: must issue a STARTTLS command first",
    )


def too_many_auth_failures(hostname: str) -> Reply:
    return reply(
        ReplyCode.SERVICE_UNAVAILABLE,
        Enhanced.TRANSIENT_SECURITY,
        f"{hostname} Error: too many failed authentication attempts, closing connection",
    )
