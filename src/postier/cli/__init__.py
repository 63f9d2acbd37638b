"""The `postier` command: parses arguments and hands over to one subcommand's module.

Each subcommand module offers `register(subparsers)`, which adds its parser and sets
`run` (taking the parsed arguments, returning the exit status) as its default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from postier import __version__
from postier.cli import (
    delete,
    inbox,
    mark,
    passwd,
    queue,
    read,
    reindex,
    release,
    send,
    serve,
    watch,
    web,
)

SUBCOMMANDS = [serve, send, inbox, read, watch, delete, mark, reindex, passwd, web, queue, release]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (the usage itself is in --help)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("postier").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"postier: {where}{message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="postier",
        description="postier: an SMTP server that files mail in mailboxes, a client, and readers.",
    )
    parser.add_argument("--version", action="version", version=f"postier {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


def entry_point() -> None:
    sys.exit(main())
