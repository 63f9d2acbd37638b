"""`postier reindex`: build the store's index again from the mailboxes."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from postier.cli.console import add_store_option, error, print_lines, run_command
from postier.cli.options import env, subcommand
from postier.store.read import Reader

DESCRIPTION = """\
Build the store's index (`<store>/.postier/index.sqlite3`) again from scratch, from the
mailboxes themselves. The index is only derived from them, and every reader brings it up
to date on its own, re-reading what changed: this is for an index that is doubted, or to
pay for indexing a large store copied in at once. Readers and servers go on meanwhile;
they see the old index until the new one is complete. Shows its progress on a terminal."""

_EVERY: float = 0.2
"""Seconds between two updates of the progress line."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "reindex", summary="build the store's index again", description=DESCRIPTION
    )
    add_store_option(parser, env("store", "mail"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_command(lambda: _reindex(args))


def _reindex(args: argparse.Namespace) -> int:
    if not args.store.is_dir():
        error(f"no store at {args.store}")
        return 1
    started = time.monotonic()
    shown = [0.0]
    terminal = sys.stderr.isatty()

    def progress(messages: int, done: int, total: int) -> None:
        now = time.monotonic()
        if terminal and (now - shown[0] >= _EVERY or done == total):
            shown[0] = now
            sys.stderr.write(f"\rindexing: {messages:,} messages, mailbox {done:,} of {total:,}")
            sys.stderr.flush()

    with Reader(args.store) as reader:
        if reader.db.in_memory:
            error(f"the store {args.store} cannot be written to: its index cannot be kept")
            return 1
        count = reader.reindex(progress)
        mailboxes = len(reader.mailboxes())
    if terminal:
        sys.stderr.write("\n")
    elapsed = time.monotonic() - started
    print_lines(
        [
            f"Indexed {count:,} message{'' if count == 1 else 's'} in {mailboxes:,} "
            f"mailbox{'' if mailboxes == 1 else 'es'} ({elapsed:.1f} s)."
        ]
    )
    return 0
