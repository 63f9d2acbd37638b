"""Option helpers shared by the subcommands: environment defaults and value parsers."""

from __future__ import annotations

import argparse
import functools
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from postier.chaos import ChaosConfig, ChaosError, parse_chaos
from postier.settings import Network, parse_networks

T = TypeVar("T")

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


class EnvValue(str):
    """A default taken from the environment; remembers the variable, for error messages."""

    variable: str

    def __new__(cls, value: str, variable: str) -> EnvValue:
        self = super().__new__(cls, value)
        self.variable = variable
        return self


def env(name: str, default: str | None) -> str | None:
    """The default of option `--name`: `POSTIER_NAME` when set, else `default`.

    argparse runs string defaults through the option's `type`, so a bad value in
    the environment is refused like a bad value on the command line, and the
    message names the variable.
    """
    variable = "POSTIER_" + name.upper().replace("-", "_")
    value = os.environ.get(variable)
    return default if value is None else EnvValue(value, variable)


def _names_source(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Say where a bad value came from when it came from the environment."""

    @functools.wraps(parse)
    def wrapper(text: str) -> T:
        try:
            return parse(text)
        except argparse.ArgumentTypeError as exc:
            if isinstance(text, EnvValue):
                raise argparse.ArgumentTypeError(f"{exc} (from {text.variable})") from None
            raise

    return wrapper


def choice(*values: str) -> Callable[[str], str]:
    """A type that accepts one of `values`: argparse checks `choices=` on the command
    line only, never on a default such as a value from the environment."""

    @_names_source
    def parse(text: str) -> str:
        if text not in values:
            raise argparse.ArgumentTypeError(
                f"invalid choice {str(text)!r} (choose from {', '.join(values)})"
            )
        return str(text)

    parse.__name__ = "choice"
    return parse


def subcommand(
    subparsers: Any, name: str, *, summary: str, description: str
) -> argparse.ArgumentParser:
    """The parser of `postier NAME`: `summary` in the list of commands, `description`
    (laid out as written) atop its own --help."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def env_flag(name: str) -> bool:
    """A switch's default from `POSTIER_NAME` (1, true, yes, on)."""
    value = os.environ.get("POSTIER_" + name.upper().replace("-", "_"), "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


@_names_source
def byte_size(text: str) -> int:
    """A size in bytes, with an optional K, M or G suffix (powers of 1024)."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    number = value[: len(value) - len(unit)]
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"not a size: {str(text)!r} (try 1048576, 512K, 32M)")
    return int(number) * _UNITS[unit]


def _whole_number(text: str, minimum: int, below: str) -> int:
    """`text` as a whole number of at least `minimum`; `below` says what it must be."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {str(text)!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{below}: {str(text)!r}")
    return value


@_names_source
def positive_int(text: str) -> int:
    return _whole_number(text, 1, "must be at least 1")


@_names_source
def limit(text: str) -> int:
    """A limit that 0 turns off."""
    return _whole_number(text, 0, "must be 0 (no limit) or more")


@_names_source
def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks (`10.0.0.0/8, ::1`); `none` for none."""
    try:
        return parse_networks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@_names_source
def host_names(text: str) -> tuple[str, ...]:
    """Comma-separated host names (`mail.test, dev.example`); `none` for none."""
    if text.strip().lower() in {"", "none"}:
        return ()
    names = tuple(name.strip() for name in text.split(","))
    bad = next((name for name in names if not name or any(c.isspace() for c in name)), None)
    if bad is not None:
        raise argparse.ArgumentTypeError(f"not a host name: {bad!r}")
    return names


def pattern(text: str) -> re.Pattern[str]:
    """A regular expression, matched whatever the case (`--accept`, `--reject`)."""
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise argparse.ArgumentTypeError(
            f"not a regular expression: {str(text)!r} ({exc})"
        ) from None


@_names_source
def chaos(text: str) -> ChaosConfig:
    try:
        return parse_chaos(text)
    except ChaosError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@_names_source
def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {str(text)!r}") from None


@_names_source
def port_number(text: str) -> int:
    """A TCP port; 0 asks the system for a free one (the log says which)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {str(text)!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {str(text)!r}")
    return value


@_names_source
def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {str(text)!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {str(text)!r}")
    return value
