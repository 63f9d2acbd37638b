"""`postier web`: serve the HTTP API over an existing store, without SMTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from postier.cli.console import add_store_option
from postier.cli.options import choice, env, env_flag, host_names, port_number, seconds, subcommand
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
        "--http-auth",
        type=Path,
        default=env("http_auth", None),
        metavar="FILE",
        help="require HTTP basic authentication, from 'user:hash' lines made by 'postier "
        "passwd' (reloaded on SIGHUP); /livez and /readyz stay open",
    )
    parser.add_argument(
        "--auth-failure-delay",
        type=seconds,
        default=env("auth_failure_delay", "1"),
        metavar="SECONDS",
        help="answer a wrong password this late, each further failure of the account "
        "twice as late, up to 16 times (default: %(default)s)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, default=env("tls_cert", None), metavar="PEM",
        help="certificate chain (PEM) for --http-tls",
    )  # fmt: skip
    parser.add_argument(
        "--tls-key", type=Path, default=env("tls_key", None), metavar="PEM",
        help="private key (PEM) for --tls-cert, when the certificate file does not hold it",
    )  # fmt: skip
    parser.add_argument(
        "--http-tls",
        action="store_true",
        default=env_flag("http_tls"),
        help="serve HTTPS, with the certificate of --tls-cert (SIGHUP reloads it)",
    )
    parser.add_argument(
        "--http-allow-host",
        type=host_names,
        default=env("http_allow_host", "none"),
        metavar="NAMES",
        help="comma-separated names the server answers to when it listens on loopback, "
        "besides localhost, 127.0.0.1 and ::1 (others get 403, against DNS rebinding)",
    )
    parser.add_argument(
        "--tags-from-plus",
        action="store_true",
        default=env_flag("tags_from_plus"),
        help="tag each copy with the +TAG of its recipient's address, as postier serve does",
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
    from postier.server import HttpOptions, ServerError, configure_logging, serve_web

    configure_logging(args.log_level)
    if args.http_tls and args.tls_cert is None:
        print("postier: --http-tls needs --tls-cert", file=sys.stderr)
        return 1
    try:
        options = HttpOptions(
            auth=args.http_auth,
            failure_delay=args.auth_failure_delay,
            allow_hosts=args.http_allow_host,
        )
        serve_web(
            args.store,
            args.http_host,
            args.http_port,
            options,
            certificate=args.tls_cert if args.http_tls else None,
            key=args.tls_key,
            tags_from_plus=args.tags_from_plus,
        )
    except ServerError as error:
        print(f"postier: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
