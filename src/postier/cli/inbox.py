"""`postier inbox`: every mailbox of the store with its message count, unread count, size and
newest date."""

from __future__ import annotations

import argparse
from typing import Any

from postier.cli.console import add_store_option, error, print_lines, run_command, to_json
from postier.cli.display import inbox_table
from postier.cli.options import env, subcommand
from postier.cli.shapes import mailbox_json
from postier.store.read import Reader

DESCRIPTION = """\
List the mailboxes of the store, newest first: each one's address (decoded from its
file name), how many messages it holds and how many of them are unread, their size and
when its newest message was received. Works on mbox and Maildir stores alike, through
the store's index (brought up to date with the files first)."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "inbox", summary="list the mailboxes in the store", description=DESCRIPTION
    )
    add_store_option(parser, env("store", "mail"))
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array for scripts: [{"mailbox": ADDRESS, "count": N, "unread": N, '
        '"size": BYTES, "newest": ISO-8601 date or null}, ...]',
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_command(lambda: _inbox(args))


def _inbox(args: argparse.Namespace) -> int:
    if not args.store.exists():
        print_lines(
            ["[]"] if args.json else [f"No mailboxes: the store {args.store} does not exist."]
        )
        return 0
    with Reader(args.store) as reader:
        mailboxes = reader.mailboxes()
        problems = reader.errors
    for problem in problems:
        error(f"damaged or unreadable mailbox {problem}")
    if args.json:
        print_lines([to_json([mailbox_json(row) for row in mailboxes])])
    elif not mailboxes:
        print_lines([f"No mailboxes: the store {args.store} is empty."])
    else:
        print_lines(inbox_table(mailboxes))
    return 1 if problems else 0
