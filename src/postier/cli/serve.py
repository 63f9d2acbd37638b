"""`postier serve`: parse the server's options and run it."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from postier.cli.options import (
    byte_size,
    choice,
    env,
    env_flag,
    limit,
    networks,
    port_number,
    positive_int,
    seconds,
)
from postier.settings import DEFAULT_EXEMPT, DEFAULT_MAX_SIZE, DEFAULT_PORT, Settings

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
        "--workers",
        type=positive_int,
        default=env("workers", "1"),
        metavar="N",
        help="server processes sharing the port and the store, to use N cores; each "
        "serves up to max-connections/N clients (default: %(default)s)",
    )
    add(
        "--max-client-connections",
        type=limit,
        default=env("max_client_connections", "100"),
        metavar="N",
        help="clients served at once from one address; one more gets 421, others are "
        "still served (0: no limit; default: %(default)s)",
    )
    add(
        "--max-client-errors",
        type=limit,
        default=env("max_client_errors", "100"),
        metavar="N",
        help="protocol errors from one address within 10 minutes before its new "
        "connections get 421 (0: no limit; default: %(default)s)",
    )
    add(
        "--client-limit-exempt",
        type=networks,
        default=env("client_limit_exempt", DEFAULT_EXEMPT),
        metavar="NETS",
        help="comma-separated addresses or networks the two limits above do not apply "
        "to; 'none' for none (default: %(default)s)",
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
        "--tls-port",
        type=port_number,
        default=env("tls_port", None),
        metavar="PORT",
        help="also listen on PORT with TLS from the first byte (implicit TLS, RFC 8314; "
        "465 by convention), with the certificate of --tls-cert; SIGHUP reloads it",
    )
    add(
        "--auth",
        default=env("auth", "none"),
        metavar="none|any|FILE",
        help="offer SMTP AUTH (PLAIN, LOGIN): 'none' does not; 'any' accepts every "
        "username and password (and CRAM-MD5), to test applications that log in; FILE "
        "checks 'user:hash' lines made by 'postier passwd' (reloaded on SIGHUP). "
        "(default: %(default)s)",
    )
    add(
        "--auth-insecure",
        action="store_true",
        default=env_flag("auth_insecure"),
        help="offer AUTH without TLS too (by default only after STARTTLS or on --tls-port)",
    )
    add(
        "--auth-required",
        action="store_true",
        default=env_flag("auth_required"),
        help="refuse MAIL with 530 until the client has logged in",
    )
    add(
        "--auth-failure-delay",
        type=seconds,
        default=env("auth_failure_delay", "1"),
        metavar="SECONDS",
        help="answer a failed login this late, each further failure on the connection or "
        "the account twice as late, up to 16 times; the 5th failure closes the "
        "connection (default: %(default)s)",
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
    if args.tls_port is not None and args.tls_cert is None:
        raise ValueError("--tls-port needs --tls-cert")
    if args.tls_port == 0 and args.workers > 1:
        raise ValueError("--tls-port 0 cannot be shared by --workers; give a port number")
    if args.auth_required and args.auth == "none":
        raise ValueError("--auth-required needs --auth any or --auth FILE")
    if args.auth != "none" and args.tls_cert is None and not args.auth_insecure:
        raise ValueError(
            "--auth is offered over TLS only: give --tls-cert, or --auth-insecure to "
            "offer it in clear"
        )
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
        max_client_connections=args.max_client_connections,
        max_client_errors=args.max_client_errors,
        client_limit_exempt=args.client_limit_exempt,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_port=args.tls_port,
        auth=args.auth,
        auth_insecure=args.auth_insecure,
        auth_required=args.auth_required,
        auth_failure_delay=args.auth_failure_delay,
        fsync=not args.no_fsync,
        workers=args.workers,
    )


def run(args: argparse.Namespace) -> int:
    from postier.server.errors import ServerError
    from postier.server.logs import configure as configure_logs
    from postier.server.run import run as run_server

    configure_logs(args.log_level)
    try:
        settings = settings_from(args)
        run_server(settings)
    except (ServerError, ValueError) as exc:
        print(f"postier: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
