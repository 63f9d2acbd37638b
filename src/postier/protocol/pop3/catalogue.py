"""Every response the POP3 server sends, each text written once, with its response code.

Codes: RFC 2449 §8 (`IN-USE`) and RFC 3206 (`SYS/TEMP`, `SYS/PERM`, `AUTH`). A client
that understands them (announced by CAPA's RESP-CODES and AUTH-RESP-CODE) can tell a
wrong password from a busy mailbox from a server fault.
"""

from __future__ import annotations

from postier.protocol.pop3.responses import RespCode, Response

MAX_ECHO = 40
"""Characters of the client's own text quoted back (RFC 1939 §3: arguments are at most
40 characters anyway)."""


def _ok(text: str, *lines: str) -> Response:
    return Response(True, text, lines=tuple(lines) if lines else None)


def _err(text: str, code: RespCode | None = None) -> Response:
    return Response(False, text, code)


def _echo(text: str) -> str:
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def greeting(hostname: str, software: str, timestamp: str | None) -> Response:
    """RFC 1939 §4; the timestamp is APOP's challenge (§7), present only when APOP is."""
    stamp = f" {timestamp}" if timestamp else ""
    return _ok(f"{hostname} POP3 {software} ready{stamp}")


def capabilities(names: list[str]) -> Response:
    return _ok("Capability list follows", *names)


def mechanisms(names: tuple[str, ...]) -> Response:
    """A bare AUTH (RFC 1734's way of asking): the mechanisms, one a line."""
    return _ok("SASL mechanisms follow", *names)


def user_ok() -> Response:
    return _ok("send PASS")


def logged_in(count: int, size: int) -> Response:
    return _ok(f"maildrop has {count} message{'' if count == 1 else 's'} ({size} octets)")


def bad_login() -> Response:
    return _err("authentication failed", RespCode.AUTH)


def need_user() -> Response:
    return _err("USER first")


def plaintext_refused() -> Response:
    """RFC 2595 §4 and RFC 3206 §5: no password in clear; STLS first."""
    return _err("no password over an unencrypted connection: STLS first", RespCode.AUTH)


def no_such_mailbox() -> Response:
    return _err("this user has no mailbox here", RespCode.AUTH)


def in_use() -> Response:
    """RFC 2449 §8.1.1."""
    return _err("the mailbox is open in another session", RespCode.IN_USE)


def mailbox_unreadable() -> Response:
    """RFC 3206 §4: the store could not be read; later may work."""
    return _err("the mailbox cannot be read now; try again later", RespCode.SYS_TEMP)


def too_many_errors() -> Response:
    return _err("too many errors; closing")


def client_gone() -> Response:
    """Never sent: what the log says of a client that closed without QUIT."""
    return _err("client closed the connection")


def too_many_failures() -> Response:
    return _err("too many failed logins; closing", RespCode.AUTH)


def unknown_mechanism(name: str) -> Response:
    return _err(f"mechanism {_echo(name)} not offered")


def auth_cancelled() -> Response:
    return _err("authentication cancelled")


def sasl_failed(why: str) -> Response:
    return _err(why, RespCode.AUTH)


def apop_not_offered() -> Response:
    return _err("APOP not offered")


def ready_for_tls() -> Response:
    return _ok("begin TLS negotiation")


def tls_not_available() -> Response:
    return _err("STLS not available")


def already_tls() -> Response:
    return _err("TLS already active")


def unknown_command() -> Response:
    return _err("unknown command")


def syntax_error(usage: str) -> Response:
    return _err(f"syntax: {usage}")


def bad_characters() -> Response:
    return _err("invalid characters in command")


def line_too_long() -> Response:
    """RFC 2449 §4: a command line is at most 255 octets."""
    return _err("command line too long")


def not_in_state(state: str) -> Response:
    return _err(f"command not valid in the {state} state")


def noop() -> Response:
    return _ok("")


def status(count: int, size: int) -> Response:
    """RFC 1939 §5: the drop listing, `+OK nn mm`."""
    return _ok(f"{count} {size}")


def scan_listing(number: int, size: int) -> Response:
    return _ok(f"{number} {size}")


def scan_listings(lines: list[str]) -> Response:
    return Response(True, "scan listing follows", lines=tuple(lines))


def unique_id(number: int, uid: str) -> Response:
    return _ok(f"{number} {uid}")


def unique_ids(lines: list[str]) -> Response:
    return Response(True, "unique-id listing follows", lines=tuple(lines))


def no_such_message() -> Response:
    return _err("no such message")


def already_deleted() -> Response:
    return _err("message already deleted")


def marked_deleted(number: int) -> Response:
    return _ok(f"message {number} deleted")


def reset(count: int, size: int) -> Response:
    return _ok(f"maildrop has {count} message{'' if count == 1 else 's'} ({size} octets)")


def message_follows(size: int) -> Response:
    return _ok(f"{size} octets")


def top_follows() -> Response:
    return _ok("top of message follows")


def message_gone() -> Response:
    """The message left the store during the session (another reader deleted it)."""
    return _err("the message is no longer in the store", RespCode.SYS_PERM)


def goodbye(hostname: str) -> Response:
    return _ok(f"{hostname} POP3 server signing off")


def goodbye_updated(hostname: str, left: int) -> Response:
    return _ok(f"{hostname} signing off ({left} message{'' if left == 1 else 's'} left)")


def update_failed() -> Response:
    """RFC 1939 §6: some deleted messages not removed; the mailbox is as it was."""
    return _err("some deleted messages not removed; try again", RespCode.SYS_TEMP)


def timed_out(hostname: str) -> Response:
    return _err(f"{hostname} idle too long; closing")


def shutting_down(hostname: str) -> Response:
    return _err(f"{hostname} shutting down", RespCode.SYS_TEMP)


def internal_error(hostname: str) -> Response:
    return _err(f"{hostname} internal error; closing", RespCode.SYS_TEMP)


def turned_away(hostname: str, reason: str) -> Response:
    return _err(f"{hostname} {reason}", RespCode.SYS_TEMP)
