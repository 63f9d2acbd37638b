"""`postier mark read|unread`: change messages' read state, where mail clients read it."""

from __future__ import annotations

import argparse
from typing import Any

from postier.cli.console import USAGE_ERROR, add_store_option, error, print_lines, run_command
from postier.cli.options import choice, env, subcommand
from postier.cli.refs import UsageError, resolve
from postier.store.read import Reader

DESCRIPTION = """\
Mark messages read or unread, by ID (`postier mark read ID...`) or by number in a
mailbox (`postier mark unread ADDRESS 2 3`). In a Maildir the message's file gets or
loses the S flag (`cur/NAME:2,S`), as mutt and Dovecot write it; in an mbox its
`Status:` header gets or loses R (mutt's and Thunderbird's convention). Every message
named must exist, or nothing changes."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "mark", summary="mark messages read or unread", description=DESCRIPTION
    )
    parser.add_argument("state", metavar="read|unread", type=choice("read", "unread"))
    parser.add_argument(
        "items", metavar="ID|ADDRESS N", nargs="+", help="IDs, or an address and numbers"
    )
    add_store_option(parser, env("store", "mail"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_command(lambda: _mark(args))


def _mark(args: argparse.Namespace) -> int:
    read = args.state == "read"
    with Reader(args.store) as reader:
        try:
            found = resolve(reader, args.items)
        except UsageError as problem:
            error(str(problem))
            return USAGE_ERROR
        changed = reader.mark([item.id for item in found], read=read)
    already = len({item.id for item in found}) - len(changed)
    note = f" ({already} already {args.state})" if already else ""
    count = len(changed)
    print_lines([f"Marked {count} message{'' if count == 1 else 's'} {args.state}{note}."])
    return 0
