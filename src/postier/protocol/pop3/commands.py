"""POP3 commands: what each line means, and how each is written (RFC 1939 §3-§7, RFC 2449,
RFC 2595 §4, RFC 5034).

A command is a keyword of 3-4 characters, case-insensitive, then arguments separated by
single spaces, each at most 40 characters (RFC 2449 §3). PASS takes the rest of its line
as the password, spaces included (RFC 1939 §7 allows it; real passwords have spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from postier.protocol.pop3 import catalogue
from postier.protocol.pop3.errors import RemoteProtocolError

MAX_ARGUMENT = 40
"""RFC 2449 §3: an argument is at most 40 characters (a SASL initial response excepted)."""
_NUMBER = re.compile(r"[0-9]{1,40}")
_DIGEST = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class Command:
    """Base of the commands; `keyword` is how it is written."""

    keyword: ClassVar[str] = ""

    def arguments(self) -> list[str]:
        return []

    def line(self) -> bytes:
        """The command as a client writes it, CRLF included."""
        return " ".join([self.keyword, *self.arguments()]).encode("utf-8") + b"\r\n"


@dataclass(frozen=True, slots=True)
class User(Command):
    keyword: ClassVar[str] = "USER"
    name: str

    def arguments(self) -> list[str]:
        return [self.name]


@dataclass(frozen=True, slots=True)
class Pass(Command):
    keyword: ClassVar[str] = "PASS"
    password: str

    def arguments(self) -> list[str]:
        return [self.password]

    def __repr__(self) -> str:
        return "Pass(password=...)"


@dataclass(frozen=True, slots=True)
class Apop(Command):
    keyword: ClassVar[str] = "APOP"
    name: str
    digest: str

    def arguments(self) -> list[str]:
        return [self.name, self.digest]


@dataclass(frozen=True, slots=True)
class Auth(Command):
    keyword: ClassVar[str] = "AUTH"
    mechanism: str | None = None
    """None: a bare AUTH, which asks for the list of mechanisms."""
    initial_response: str | None = None

    def arguments(self) -> list[str]:
        return [arg for arg in (self.mechanism, self.initial_response) if arg is not None]


@dataclass(frozen=True, slots=True)
class Stls(Command):
    keyword: ClassVar[str] = "STLS"


@dataclass(frozen=True, slots=True)
class Capa(Command):
    keyword: ClassVar[str] = "CAPA"


@dataclass(frozen=True, slots=True)
class Quit(Command):
    keyword: ClassVar[str] = "QUIT"


@dataclass(frozen=True, slots=True)
class Stat(Command):
    keyword: ClassVar[str] = "STAT"


@dataclass(frozen=True, slots=True)
class Noop(Command):
    keyword: ClassVar[str] = "NOOP"


@dataclass(frozen=True, slots=True)
class Rset(Command):
    keyword: ClassVar[str] = "RSET"


@dataclass(frozen=True, slots=True)
class List(Command):
    keyword: ClassVar[str] = "LIST"
    number: int | None = None

    def arguments(self) -> list[str]:
        return [] if self.number is None else [str(self.number)]


@dataclass(frozen=True, slots=True)
class Uidl(Command):
    keyword: ClassVar[str] = "UIDL"
    number: int | None = None

    def arguments(self) -> list[str]:
        return [] if self.number is None else [str(self.number)]


@dataclass(frozen=True, slots=True)
class Retr(Command):
    keyword: ClassVar[str] = "RETR"
    number: int

    def arguments(self) -> list[str]:
        return [str(self.number)]


@dataclass(frozen=True, slots=True)
class Dele(Command):
    keyword: ClassVar[str] = "DELE"
    number: int

    def arguments(self) -> list[str]:
        return [str(self.number)]


@dataclass(frozen=True, slots=True)
class Top(Command):
    keyword: ClassVar[str] = "TOP"
    number: int
    lines: int

    def arguments(self) -> list[str]:
        return [str(self.number), str(self.lines)]


_BARE: dict[str, type[Command]] = {
    kind.keyword: kind for kind in (Stls, Capa, Quit, Stat, Noop, Rset)
}
_USAGE = {
    "USER": "USER name",
    "PASS": "PASS password",
    "APOP": "APOP name digest",
    "AUTH": "AUTH [mechanism [initial-response]]",
    "LIST": "LIST [msg]",
    "UIDL": "UIDL [msg]",
    "RETR": "RETR msg",
    "DELE": "DELE msg",
    "TOP": "TOP msg n",
}
COMMANDS: tuple[type[Command], ...] = (
    User, Pass, Apop, Auth, Stls, Capa, Quit, Stat, Noop, Rset, List, Uidl, Retr, Dele, Top,
)  # fmt: skip


def parse(line: bytes) -> Command:
    """The command on `line` (its CRLF removed); RemoteProtocolError with the `-ERR`."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(catalogue.bad_characters()) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise RemoteProtocolError(catalogue.bad_characters())
    keyword, _, rest = text.partition(" ")
    keyword = keyword.upper()
    if keyword == "PASS":
        if not rest:
            raise _syntax(keyword)
        return Pass(rest)
    args = rest.split(" ") if rest else []
    if keyword in _BARE:
        if args:
            raise _syntax(keyword)
        return _BARE[keyword]()
    if keyword not in _USAGE:
        raise RemoteProtocolError(catalogue.unknown_command())
    return _with_arguments(keyword, args)


def _with_arguments(keyword: str, args: list[str]) -> Command:
    if keyword == "AUTH":
        # The initial response may be longer than 40 characters (RFC 5034 §4).
        if len(args) > 2 or "" in args or (args and len(args[0]) > MAX_ARGUMENT):
            raise _syntax(keyword)
        return Auth(args[0].upper() if args else None, args[1] if len(args) > 1 else None)
    if "" in args or any(len(arg) > MAX_ARGUMENT for arg in args):
        raise _syntax(keyword)
    if keyword == "USER" and len(args) == 1:
        return User(args[0])
    if keyword == "APOP" and len(args) == 2 and _DIGEST.fullmatch(args[1]):
        return Apop(args[0], args[1].lower())
    numbers = [int(arg) for arg in args if _NUMBER.fullmatch(arg)]
    if len(numbers) != len(args):
        raise _syntax(keyword)
    if keyword in ("LIST", "UIDL") and len(numbers) <= 1:
        number = numbers[0] if numbers else None
        return List(number) if keyword == "LIST" else Uidl(number)
    if keyword in ("RETR", "DELE") and len(numbers) == 1:
        return Retr(numbers[0]) if keyword == "RETR" else Dele(numbers[0])
    if keyword == "TOP" and len(numbers) == 2:
        return Top(numbers[0], numbers[1])
    raise _syntax(keyword)


def _syntax(keyword: str) -> RemoteProtocolError:
    usage = _USAGE.get(keyword, keyword)
    return RemoteProtocolError(catalogue.syntax_error(usage))
