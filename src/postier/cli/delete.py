"""`postier delete`: delete messages, a mailbox's or the whole store's."""

from __future__ import annotations

import argparse
from typing import Any

from postier.cli.console import USAGE_ERROR, add_store_option, error, print_lines, run_command
from postier.cli.options import env, subcommand
from postier.cli.refs import UsageError, resolve
from postier.store.read import Reader

DESCRIPTION = """\
Delete messages from the store: by ID (`postier delete ID ID...`), by number in a mailbox
(`postier delete ADDRESS 3 7`, numbered as `postier read ADDRESS` lists them), every
message of a mailbox (`postier delete --all ADDRESS`) or of the store (`--all`).

Every message named must exist, or nothing is deleted. A Maildir message's file is
removed; an mbox message leaves the file (the mailbox is rewritten without it, under
the server's lock, safely against a crash), and the command returns once the file no
longer holds it."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "delete", summary="delete messages, a mailbox's or all", description=DESCRIPTION
    )
    parser.add_argument(
        "items", metavar="ID|ADDRESS N", nargs="*", help="IDs, or an address and numbers"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="delete every message of ADDRESS's mailbox, or of the store without ADDRESS",
    )
    add_store_option(parser, env("store", "mail"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.all and len(args.items) > 1:
        error("delete --all takes one ADDRESS at most")
        return USAGE_ERROR
    if not args.all and not args.items:
        error("delete what? give IDs, ADDRESS and numbers, or --all")
        return USAGE_ERROR
    return run_command(lambda: _delete(args))


def _delete(args: argparse.Namespace) -> int:
    with Reader(args.store) as reader:
        if args.all:
            count = reader.delete_mailbox(args.items[0]) if args.items else reader.delete_all()
        else:
            try:
                found = resolve(reader, args.items)
            except UsageError as problem:
                error(str(problem))
                return USAGE_ERROR
            count = len(reader.delete([item.id for item in found]))
    print_lines([f"Deleted {count} message{'' if count == 1 else 's'}."])
    return 0
