"""The answers the core gives by itself: CAPA, and the maildrop's commands in TRANSACTION
(STAT, LIST, UIDL, DELE, NOOP, RSET; RFC 1939 §5-§7, RFC 2449 §5)."""

from __future__ import annotations

from postier.protocol.pop3 import catalogue
from postier.protocol.pop3.commands import Capa, Command, Dele, List, Noop, Rset, Stat, Uidl
from postier.protocol.pop3.config import Pop3Config
from postier.protocol.pop3.maildrop import Maildrop
from postier.protocol.pop3.responses import Response


def capabilities(
    config: Pop3Config, *, authorization: bool, tls_active: bool, passwords_allowed: bool
) -> Response:
    """RFC 2449 §6: what this server does, in this state; USER and SASL only where a
    password may be sent (RFC 2595 §4), STLS until TLS is active."""
    names = ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
    if authorization and passwords_allowed:
        names.append("USER")
        if config.mechanisms:
            names.append("SASL " + " ".join(config.mechanisms))
    if authorization and config.tls_available and not tls_active:
        names.append("STLS")
    names.append(f"IMPLEMENTATION {config.software}")
    return catalogue.capabilities(names)


def answer_in_transaction(maildrop: Maildrop, command: Command) -> Response:
    """The answer to a TRANSACTION command other than RETR, TOP and QUIT."""
    if isinstance(command, Stat):
        return catalogue.status(maildrop.count, maildrop.size)
    if isinstance(command, List | Uidl):
        return _listing(maildrop, command)
    if isinstance(command, Dele):
        if maildrop.get(command.number) is None:
            return missing(maildrop, command.number)
        maildrop.deleted.add(command.number)
        return catalogue.marked_deleted(command.number)
    if isinstance(command, Rset):
        maildrop.deleted.clear()
        return catalogue.reset(maildrop.count, maildrop.size)
    if isinstance(command, Noop):
        return catalogue.noop()
    assert not isinstance(command, Capa), "CAPA depends on the connection"
    raise AssertionError(f"not a maildrop command: {command}")


def _listing(maildrop: Maildrop, command: List | Uidl) -> Response:
    uid = isinstance(command, Uidl)
    if command.number is not None:
        entry = maildrop.get(command.number)
        if entry is None:
            return missing(maildrop, command.number)
        if uid:
            return catalogue.unique_id(command.number, entry.uid)
        return catalogue.scan_listing(command.number, entry.size)
    lines = [f"{number} {entry.uid if uid else entry.size}" for number, entry in maildrop.live()]
    return catalogue.unique_ids(lines) if uid else catalogue.scan_listings(lines)


def missing(maildrop: Maildrop, number: int) -> Response:
    """The `-ERR` for a number that names no message, or a deleted one."""
    if 1 <= number <= len(maildrop.entries):
        return catalogue.already_deleted()
    return catalogue.no_such_message()
