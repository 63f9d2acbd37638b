"""One option of `postier serve` as the command line and the environment give it: the
`Settings` field it fills, its default as a user writes it, `POSTIER_<NAME>`."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from postier.cli.options import env, env_flag
from postier.settings import Settings


@dataclass(frozen=True, slots=True)
class Option:
    """An option of `postier serve`: `--` and the name of the setting it fills, whose
    default (`Settings`) it shows; POSTIER_<NAME> in the environment overrides it."""

    setting: str
    help: str
    parse: Callable[[str], Any] = str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    written: str | None = None
    """The default as a user writes it, when the setting's own would read differently."""
    switch: bool = False
    """Takes no value: given, it turns the setting on (or off, with `negated`)."""
    negated: bool = False
    """`--no-NAME`: a switch that turns the setting off."""
    repeated: bool = False
    """May be given more than once, each value kept (a tuple); POSTIER_<NAME> holds one
    value a line."""

    @property
    def name(self) -> str:
        return f"no_{self.setting}" if self.negated else self.setting

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        flag = "--" + self.name.replace("_", "-")
        if self.switch:
            parser.add_argument(
                flag, action="store_true", default=env_flag(self.name), help=self.help
            )
            return
        if self.repeated:
            # No default here: argparse would add what the command line gives to it.
            parser.add_argument(
                flag, action="append", type=self.parse, metavar=self.metavar, help=self.help
            )
            return
        parser.add_argument(
            flag,
            type=self.parse,
            choices=self.choices,
            metavar=self.metavar,
            default=env(self.name, self.written or _written(_default(self.setting))),
            help=self.help,
        )

    def value(self, args: argparse.Namespace) -> object:
        value = getattr(args, self.name)
        if self.repeated:
            return tuple(value) if value is not None else self._from_environment()
        return not value if self.negated else value

    def _from_environment(self) -> tuple[object, ...]:
        variable = "POSTIER_" + self.name.upper()
        lines = os.environ.get(variable, "").splitlines()
        try:
            return tuple(self.parse(line) for line in lines if line.strip())
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{variable}: {exc}") from None


_FIELDS = {item.name: item for item in dataclasses.fields(Settings)}


def _default(setting: str) -> object:
    item = _FIELDS[setting]
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default


def _written(value: object) -> str | None:
    """A default as the user would write it: `300` seconds, not `300.0`."""
    if value is None:
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)
