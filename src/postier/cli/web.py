"""`postier web`: serve the HTTP API over an existing store, without SMTP."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from postier.cli.console import add_store_option
from postier.cli.options import choice, env, port_number, subcommand
from postier.defaults import DEFAULT_HTTP_PORT

LOG_LEVELS: Final = ("debug", "info", "warning", "error")

DESCRIPTION = """\
Serve the HTTP API (Mailpit's API v1, and postier's /api/v1/mailboxes and
/api/v1/wait) over a store that exists already, e.g. one filled by `postier serve`
or an mbox archive. Every option can also be set from the environment as
POSTIER_<OPTION>, e.g. POSTIER_HTTP_PORT=8026."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "web", summary="serve the HTTP API over a store", description=DESCRIPTION
    )
    add_store_option(parser, env("store", "mail"))
    parser.add_argument(
        "--http-host",
        default=env("http_host", "127.0.0.1"),
        metavar="HOST",
        help="address to listen on; 0.0.0.0 or :: for every interface (default: %(default)s)",
    )
    parser.add_argument(
        "--http-port",
        type=port_number,
        default=env("http_port", str(DEFAULT_HTTP_PORT)),
        metavar="PORT",
        help="TCP port; 0 picks a free one, which the log names (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        type=choice(*LOG_LEVELS),
        choices=LOG_LEVELS,
        default=env("log_level", "info"),
        help="(default: %(default)s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from postier.server import ServerError, configure_logging, serve_web

    configure_logging(args.log_level)
    try:
        serve_web(args.store, args.http_host, args.http_port)
    except ServerError as error:
        print(f"postier: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
