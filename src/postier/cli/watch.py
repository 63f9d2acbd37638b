"""`postier watch`: follow the store and print a line for each message as it is filed."""

from __future__ import annotations

import argparse
import sys
from email.utils import parseaddr
from typing import Any

from postier.cli.console import add_store_option, error, print_lines, run_command, to_json
from postier.cli.display import arrival_line
from postier.cli.options import env, positive_int, seconds, subcommand
from postier.cli.shapes import arrival_json
from postier.store.read import DEFAULT_INTERVAL, MessageSummary, Reader, follow

DESCRIPTION = """\
Follow the store and print one line for each message filed after the watch started:
when, in which mailbox (and its number there, for `postier read`), from whom and about
what. Works with mbox and Maildir stores, with any number of servers writing to them,
and with a store that does not exist yet. Stop it with Ctrl-C.

--count and --timeout make it a wait for scripts: `postier watch --count 1 --timeout 10`
ends with status 0 as soon as one message arrives, and with 1 if none came in 10 s."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers,
        "watch",
        summary="print a line for each new message as it arrives",
        description=DESCRIPTION,
    )
    add_store_option(parser, env("store", "mail"))
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help="how often to look at the store (default: %(default)s)",
    )
    parser.add_argument("--count", type=positive_int, metavar="N", help="stop after N new messages")
    parser.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="stop after this long; the exit status is 1 if --count messages did not all come",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object per line for scripts: {"time", "id", "mailbox", "index", '
        '"from", "subject"}',
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_command(lambda: _watch(args))


def _watch(args: argparse.Namespace) -> int:
    show = _json_line if args.json else arrival_line
    try:
        with Reader(args.store) as reader:
            seen = follow(
                reader,
                lambda arrival: print_lines([show(arrival)]),
                interval=args.interval,
                count=args.count,
                timeout=args.timeout,
                on_error=error,
                # On standard error, so that standard output holds only the messages' lines.
                on_ready=lambda: _notice(f"Watching {args.store} for new mail (Ctrl-C to stop)."),
            )
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a watch ends
    if args.timeout is not None and args.count is not None and seen < args.count:
        return 1
    return 0


def _notice(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _json_line(arrival: MessageSummary) -> str:
    return to_json(
        arrival_json(arrival, arrival.from_address or parseaddr(arrival.sender)[1]), indent=None
    )
