"""`postier inbox`: every mailbox of the store with its message count, size and newest date."""

from __future__ import annotations

import argparse
from typing import Any

from postier.cli.console import add_store_option, error, print_lines, run_command, to_json
from postier.cli.display import inbox_table
from postier.cli.options import env, subcommand
from postier.store.read import Store

DESCRIPTION = """\
List the mailboxes of the store, newest first: each one's address (decoded from its
file name), how many messages it holds, its size on disk and when its newest message
was received. Works on mbox and Maildir stores alike; message bodies are not read."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "inbox", summary="list the mailboxes in the store", description=DESCRIPTION
    )
    add_store_option(parser, env("store", "mail"))
    parser.add_argument(
        "--json",
        action="store_true",
        help='print a JSON array for scripts: [{"mailbox": ADDRESS, "count": N, '
        '"size": BYTES, "newest": ISO-8601 date or null}, ...]',
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_command(lambda: _inbox(args))


def _inbox(args: argparse.Namespace) -> int:
    store = Store(args.store)
    if not store.root.exists():
        print_lines(
            ["[]"] if args.json else [f"No mailboxes: the store {args.store} does not exist."]
        )
        return 0
    inbox = store.inbox()
    for problem in inbox.errors:
        error(f"damaged or unreadable mailbox {problem}")
    if args.json:
        rows = [
            {
                "mailbox": row.address,
                "count": row.count,
                "size": row.size,
                # To the second, as an mbox's `From ` lines have it.
                "newest": row.newest.replace(microsecond=0).isoformat() if row.newest else None,
            }
            for row in inbox.mailboxes
        ]
        print_lines([to_json(rows)])
    elif not inbox.mailboxes:
        print_lines([f"No mailboxes: the store {args.store} is empty."])
    else:
        print_lines(inbox_table(inbox.mailboxes))
    return 1 if inbox.errors else 0
