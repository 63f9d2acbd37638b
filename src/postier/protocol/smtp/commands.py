"""Command lines both ways: bytes in, a `Command` value out (or the reply it calls for),
and a `Command` back to the bytes a client sends (`Command.to_bytes()`).

Command verbs are case-insensitive (RFC 5321 §2.4). Parameters of MAIL are the ESMTP
ones we advertise: SIZE (RFC 1870), BODY (RFC 6152, and BINARYMIME of RFC 3030),
SMTPUTF8 (RFC 6531), AUTH (RFC 4954 §5). AUTH is RFC 4954's, BDAT RFC 3030's.

Where the grammar allows several spellings the writer sends one: the verb and the
keywords in upper case, the path always in angle brackets with no space after the
colon, MAIL's parameters in the order SIZE, BODY, SMTPUTF8, single spaces, and no
text after NOOP. The parser drops what it does not keep (a source route, MAIL's AUTH
parameter), so those are never written back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

from postier.protocol.smtp import catalogue
from postier.protocol.smtp.address import AddressError, split_path, validate_mailbox
from postier.protocol.smtp.errors import RemoteProtocolError


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every command, parsed or to be sent."""

    verb: ClassVar[str]

    def arguments(self) -> tuple[str, ...]:
        """What follows the verb, one item per space-separated word: each field by default."""
        return tuple(str(getattr(self, field.name)) for field in fields(self))

    def line(self) -> str:
        """The command line without its ending, as a transcript shows it."""
        return " ".join((self.verb, *self.arguments()))

    def to_bytes(self) -> bytes:
        """The line a client sends, CRLF included; `parse_command` reads it back to `self`."""
        return self.line().encode("utf-8") + b"\r\n"


@dataclass(frozen=True, slots=True)
class Helo(Command):
    verb = "HELO"
    name: str


@dataclass(frozen=True, slots=True)
class Ehlo(Command):
    verb = "EHLO"
    name: str


@dataclass(frozen=True, slots=True)
class Mail(Command):
    verb = "MAIL"
    sender: str
    """The reverse-path, "" for `<>`."""
    size: int | None = None
    body: str | None = None
    """"7BIT", "8BITMIME" or "BINARYMIME" when given."""
    smtputf8: bool = False

    def arguments(self) -> tuple[str, ...]:
        params = [f"FROM:<{self.sender}>"]
        if self.size is not None:
            params.append(f"SIZE={self.size}")  # RFC 1870 §6
        if self.body is not None:
            params.append(f"BODY={self.body}")  # RFC 6152 §2, RFC 3030 §3
        if self.smtputf8:
            params.append("SMTPUTF8")  # RFC 6531 §3.4
        return tuple(params)


@dataclass(frozen=True, slots=True)
class Rcpt(Command):
    verb = "RCPT"
    recipient: str

    def arguments(self) -> tuple[str, ...]:
        return (f"TO:<{self.recipient}>",)


@dataclass(frozen=True, slots=True)
class Data(Command):
    verb = "DATA"


@dataclass(frozen=True, slots=True)
class Rset(Command):
    verb = "RSET"


@dataclass(frozen=True, slots=True)
class Noop(Command):
    verb = "NOOP"


@dataclass(frozen=True, slots=True)
class Vrfy(Command):
    verb = "VRFY"
    argument: str


@dataclass(frozen=True, slots=True)
class Help(Command):
    verb = "HELP"
    argument: str

    def arguments(self) -> tuple[str, ...]:
        return (self.argument,) if self.argument else ()


@dataclass(frozen=True, slots=True)
class Quit(Command):
    verb = "QUIT"


@dataclass(frozen=True, slots=True)
class StartTls(Command):
    verb = "STARTTLS"


@dataclass(frozen=True, slots=True)
class Auth(Command):
    """AUTH mechanism [initial-response] (RFC 4954 §4)."""

    verb = "AUTH"
    mechanism: str
    """Upper-cased SASL mechanism name."""
    initial_response: str | None = None
    """The base64 text as sent; "=" stands for an empty response."""

    def arguments(self) -> tuple[str, ...]:
        if self.initial_response is None:
            return (self.mechanism,)
        return (self.mechanism, self.initial_response)


@dataclass(frozen=True, slots=True)
class Bdat(Command):
    """BDAT chunk-size [LAST] (RFC 3030 §2): exactly `size` octets of data follow."""

    verb = "BDAT"
    size: int
    last: bool = False

    def arguments(self) -> tuple[str, ...]:
        return (str(self.size), "LAST") if self.last else (str(self.size),)


_Parser = Callable[[str], "Command"]

# Verbs we know of but do not implement: 502 rather than 500 (RFC 5321 §4.2.4).
UNIMPLEMENTED = frozenset({"EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML"})
# Verbs whose lines may be longer than 512 octets (RFC 1869 §4.1.2; RFC 4954 §4 for an
# AUTH initial response).
EXTENDED_VERBS = frozenset({"MAIL", "RCPT", "AUTH"})

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# esmtp-value = 1*(%d33-60 / %d62-126), widened to UTF-8 by RFC 6531 §3.3.
_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e\u0080-\U0010ffff]+")
_MAX_SIZE_DIGITS = 20
# RFC 4422 §3.1: SASL mechanism names are 1 to 20 of A-Z, 0-9, "-" and "_".
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# RFC 3461 §4: xtext, the value of MAIL's AUTH parameter.
_XTEXT = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+")


def verb_of(line: bytes) -> str:
    """The command verb, upper-cased ASCII, or "" when the line does not start with one."""
    head = line.split(b" ", 1)[0]
    if not head.isalpha() or not head.isascii() or len(head) > 16:
        return ""
    return head.decode("ascii").upper()


def parse_command(line: bytes) -> Command:
    """Parse one command line (without its line ending).

    Raises `RemoteProtocolError` carrying the reply the client should get.
    """
    if b"\x00" in line:
        raise RemoteProtocolError(catalogue.bad_characters())
    verb = verb_of(line)
    if not verb:
        raise RemoteProtocolError(catalogue.command_unrecognized())
    try:
        argument = line[len(verb) + 1 :].decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(catalogue.bad_characters()) from None
    if len(line) > len(verb) and line[len(verb)] != 0x20:
        raise RemoteProtocolError(catalogue.command_unrecognized())
    if not argument.isprintable() and verb not in {"MAIL", "RCPT"}:
        raise RemoteProtocolError(catalogue.bad_characters())
    parser = _PARSERS.get(verb)
    if parser is None:
        if verb in UNIMPLEMENTED:
            raise RemoteProtocolError(catalogue.not_implemented(verb))
        raise RemoteProtocolError(catalogue.command_unrecognized())
    return parser(argument.strip(" "))


def _no_argument(factory: type[Command], verb: str) -> _Parser:
    def parse(argument: str) -> Command:
        if argument:
            raise RemoteProtocolError(catalogue.syntax(verb))
        return factory()

    return parse


def _parse_helo(argument: str) -> Command:
    return Helo(_greeting_name(argument, "HELO"))


def _parse_ehlo(argument: str) -> Command:
    return Ehlo(_greeting_name(argument, "EHLO"))


def _greeting_name(argument: str, verb: str) -> str:
    # RFC 5321 §4.1.1.1 asks for a domain or an address literal; real clients send
    # bare host names with underscores and the like, which we record as given.
    if not argument or " " in argument or not argument.isprintable():
        raise RemoteProtocolError(catalogue.syntax(f"{verb} hostname"))
    return argument


def _parse_mail(argument: str) -> Command:
    path_text = _after_prefix(argument, "FROM:", "MAIL FROM:<address>")
    try:
        path = split_path(path_text)
        sender = "" if path.address == "" else validate_mailbox(path.address)
    except AddressError as exc:
        raise RemoteProtocolError(catalogue.bad_sender(str(exc))) from None
    params = _parse_parameters(path.rest)
    # A keyword without its value ("SIZE" alone) is a syntax error, not an absent one.
    size = _size_param(params.pop("SIZE")) if "SIZE" in params else None
    body = _body_param(params.pop("BODY")) if "BODY" in params else None
    smtputf8 = "SMTPUTF8" in params
    if smtputf8 and params.pop("SMTPUTF8") is not None:
        raise RemoteProtocolError(catalogue.bad_parameter("SMTPUTF8 takes no value"))
    if "AUTH" in params:
        # RFC 4954 §5: who submitted the message, as the client says; "<>" for unknown.
        # Accepted and not trusted, as the RFC allows.
        value = params.pop("AUTH")
        if value is None or not (value == "<>" or _XTEXT.fullmatch(value)):
            raise RemoteProtocolError(catalogue.bad_parameter("AUTH takes an xtext mailbox"))
    if params:
        raise RemoteProtocolError(catalogue.unsupported_parameter(next(iter(params))))
    if not smtputf8 and not sender.isascii():
        raise RemoteProtocolError(catalogue.needs_smtputf8())
    return Mail(sender, size, body, smtputf8)


def _parse_rcpt(argument: str) -> Command:
    path_text = _after_prefix(argument, "TO:", "RCPT TO:<address>")
    try:
        path = split_path(path_text)
        recipient = validate_mailbox(path.address, allow_postmaster=True)
    except AddressError as exc:
        raise RemoteProtocolError(catalogue.bad_recipient(str(exc))) from None
    params = _parse_parameters(path.rest)
    if params:
        raise RemoteProtocolError(catalogue.unsupported_parameter(next(iter(params))))
    return Rcpt(recipient)


def _after_prefix(argument: str, prefix: str, usage: str) -> str:
    if argument[: len(prefix)].upper() != prefix:
        raise RemoteProtocolError(catalogue.syntax(usage))
    rest = argument[len(prefix) :]
    if not rest.strip(" "):
        raise RemoteProtocolError(catalogue.syntax(usage))
    return rest


def _parse_parameters(text: str) -> dict[str, str | None]:
    """ESMTP parameters `KEYWORD[=value]` separated by spaces (RFC 5321 §4.1.2)."""
    params: dict[str, str | None] = {}
    for item in text.split():
        keyword, eq, value = item.partition("=")
        if not _KEYWORD.fullmatch(keyword) or (eq and not _VALUE.fullmatch(value)):
            raise RemoteProtocolError(catalogue.bad_parameter(f"bad parameter syntax {item!r}"))
        key = keyword.upper()
        if key in params:
            raise RemoteProtocolError(catalogue.bad_parameter(f"duplicate parameter {key}"))
        params[key] = value if eq else None
    return params


def _size_param(value: str | None) -> int:
    if value is None or not value.isdigit() or not value.isascii() or len(value) > _MAX_SIZE_DIGITS:
        raise RemoteProtocolError(catalogue.bad_parameter("SIZE takes a number of octets"))
    return int(value)


def _body_param(value: str | None) -> str:
    body = (value or "").upper()
    if body not in {"7BIT", "8BITMIME", "BINARYMIME"}:
        raise RemoteProtocolError(
            catalogue.bad_parameter("BODY takes 7BIT, 8BITMIME or BINARYMIME")
        )
    return body


def _parse_auth(argument: str) -> Command:
    parts = argument.split(" ")
    if not argument or len(parts) > 2:
        raise RemoteProtocolError(catalogue.syntax("AUTH mechanism [initial-response]"))
    mechanism = parts[0].upper()
    if not _MECHANISM.fullmatch(mechanism):
        raise RemoteProtocolError(catalogue.syntax("AUTH mechanism [initial-response]"))
    if len(parts) == 1:
        return Auth(mechanism)
    response = parts[1]
    if response != "=" and not _BASE64.fullmatch(response):
        raise RemoteProtocolError(catalogue.cannot_decode())
    return Auth(mechanism, response)


def parse_bdat_size(argument: str) -> int | None:
    """The chunk size of a BDAT line, or None when it cannot be read.

    Read before anything else about the command: even a refused BDAT is followed by
    its data, which must be read and thrown away, never taken as commands (§2).
    """
    size = argument.split(" ", 1)[0]
    if not size.isdigit() or not size.isascii() or len(size) > _MAX_SIZE_DIGITS:
        return None
    return int(size)


def _parse_bdat(argument: str) -> Command:
    size = parse_bdat_size(argument)
    parts = argument.split(" ")
    if size is None or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() != "LAST"):
        raise RemoteProtocolError(catalogue.syntax("BDAT size [LAST]"))
    return Bdat(size, len(parts) == 2)


def _parse_vrfy(argument: str) -> Command:
    if not argument:
        raise RemoteProtocolError(catalogue.syntax("VRFY address"))
    return Vrfy(argument)


def _parse_help(argument: str) -> Command:
    return Help(argument)


def _parse_noop(argument: str) -> Command:
    # RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
    return Noop()


_PARSERS: dict[str, _Parser] = {
    "HELO": _parse_helo,
    "EHLO": _parse_ehlo,
    "MAIL": _parse_mail,
    "RCPT": _parse_rcpt,
    "DATA": _no_argument(Data, "DATA"),
    "RSET": _no_argument(Rset, "RSET"),
    "NOOP": _parse_noop,
    "VRFY": _parse_vrfy,
    "HELP": _parse_help,
    "QUIT": _no_argument(Quit, "QUIT"),
    "STARTTLS": _no_argument(StartTls, "STARTTLS"),
    "AUTH": _parse_auth,
    "BDAT": _parse_bdat,
}
