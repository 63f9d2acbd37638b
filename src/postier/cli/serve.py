"""`postier serve`: parse the server's options and run it."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from postier.cli.options import (
    byte_size,
    choice,
    env,
    env_flag,
    port_number,
    positive_int,
    seconds,
)
from postier.settings import DEFAULT_MAX_SIZE, DEFAULT_PORT, Settings

DESCRIPTION = """\
Run an ESMTP server that files every accepted message in its recipients' mailboxes:
<store>/<address>.mbox (mbox, the default) or <store>/<address>/ (Maildir).
A 250 reply after DATA means every copy is on disk. Every option can also be set
from the environment as POSTIER_<OPTION>, e.g. POSTIER_PORT=25 or POSTIER_NO_FSYNC=1."""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the SMTP server",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--host",
        default=env("host", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 or :: for every interface (default: %(default)s)",
    )
    add(
        "--port",
        type=port_number,
        default=env("port", str(DEFAULT_PORT)),
        help="TCP port; 25 is SMTP's own and needs root (default: %(default)s)",
    )
    add(
        "--store",
        type=Path,
        default=env("store", "mail"),
        help="directory of the mailboxes, created when missing (default: ./%(default)s)",
    )
    add(
        "--format",
        type=choice("mbox", "maildir"),
        choices=["mbox", "maildir"],
        default=env("format", "mbox"),
        help="mailbox format: one mbox file per recipient, or one Maildir per recipient "
        "(default: %(default)s)",
    )
    add(
        "--hostname",
        default=env("hostname", socket.gethostname()),
        help="the name the server gives itself in its greeting and in Received: "
        "(default: this machine's name, %(default)s)",
    )
    add(
        "--max-size",
        type=byte_size,
        default=env("max_size", str(DEFAULT_MAX_SIZE)),
        metavar="BYTES",
        help="largest message accepted, in bytes (K, M, G suffixes allowed; default: 32M)",
    )
    add(
        "--max-recipients",
        type=positive_int,
        default=env("max_recipients", "100"),
        metavar="N",
        help="recipients per message; more get 452 (default: %(default)s)",
    )
    add(
        "--timeout",
        type=seconds,
        default=env("timeout", "300"),
        metavar="SECONDS",
        help="deadline for each whole line the client sends, inside DATA too; a client "
        "that misses it gets 421 (default: %(default)s)",
    )
    add(
        "--max-connections",
        type=positive_int,
        default=env("max_connections", "1000"),
        metavar="N",
        help="clients served at once; one more gets 421 (default: %(default)s)",
    )
    add(
        "--tls-cert",
        type=Path,
        default=env("tls_cert", None),
        metavar="PEM",
        help="certificate chain (PEM) for STARTTLS; with --tls-key",
    )
    add(
        "--tls-key",
        type=Path,
        default=env("tls_key", None),
        metavar="PEM",
        help="private key (PEM) for --tls-cert; may be omitted when the certificate file holds it",
    )
    add(
        "--no-fsync",
        action="store_true",
        default=env_flag("no_fsync"),
        help="do not wait for the disk before answering 250: faster, but a power cut "
        "may lose messages already acknowledged",
    )
    add(
        "--log-level",
        type=choice("debug", "info", "warning", "error"),
        choices=["debug", "info", "warning", "error"],
        default=env("log_level", "info"),
        help="info logs a line per connection and per message (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Settings:
    if args.tls_key is not None and args.tls_cert is None:
        raise ValueError("--tls-key needs --tls-cert")
    return Settings(
        host=args.host,
        port=args.port,
        store=args.store,
        format=args.format,
        hostname=args.hostname,
        max_size=args.max_size,
        max_recipients=args.max_recipients,
        timeout=args.timeout,
        max_connections=args.max_connections,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        fsync=not args.no_fsync,
    )


def run(args: argparse.Namespace) -> int:
    from postier.server.listener import ServerError
    from postier.server.listener import run as run_server

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    try:
        settings = settings_from(args)
        run_server(settings)
    except (ServerError, ValueError) as exc:
        print(f"postier: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
