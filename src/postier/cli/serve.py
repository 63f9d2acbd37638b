"""`postier serve`: parse the server's options and run it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from postier.cli.options import (
    byte_size,
    chaos,
    choice,
    env,
    host_names,
    limit,
    networks,
    pattern,
    port_number,
    positive_int,
    seconds,
    subcommand,
    whole_number,
)
from postier.cli.serve_checks import CHECK_OPTIONS
from postier.cli.serve_option import Option
from postier.cli.serve_relay import RELAY_OPTIONS
from postier.cli.serve_tags import TAGS_OPTIONS
from postier.cli.serve_webhooks import WEBHOOK_OPTIONS
from postier.explain import LANGUAGES
from postier.settings import DEFAULT_EXEMPT, Settings

DESCRIPTION = """\
Run an ESMTP server that files every accepted message in its recipients' mailboxes:
<store>/<address>.mbox (mbox, the default) or <store>/<address>/ (Maildir).
A 250 reply after DATA means every copy is on disk. With --pop3-port (or --pop3s-port)
each mailbox is also readable over POP3, the user name being its address. Every option
can also be set from the environment as POSTIER_<OPTION>, e.g. POSTIER_PORT=25 or
POSTIER_NO_FSYNC=1."""


FORMATS: Final = ("mbox", "maildir")

OPTIONS: Final = (
    Option(
        "host",
        "address to listen on; 0.0.0.0 or :: for every interface (default: %(default)s)",
    ),
    Option(
        "port",
        "TCP port; 25 is SMTP's own and needs root (default: %(default)s)",
        port_number,
    ),
    Option(
        "store",
        "directory of the mailboxes, created when missing (default: ./%(default)s)",
        Path,
    ),
    Option(
        "format",
        "mailbox format: one mbox file per recipient, or one Maildir per recipient "
        "(default: %(default)s)",
        choice(*FORMATS),
        choices=FORMATS,
    ),
    Option(
        "hostname",
        "the name the server gives itself in its greeting and in Received: "
        "(default: this machine's name, %(default)s)",
    ),
    Option(
        "max_size",
        "largest message accepted, in bytes (K, M, G suffixes allowed; default: 32M)",
        byte_size,
        "BYTES",
    ),
    Option(
        "max_recipients",
        "recipients per message; more get 452 (default: %(default)s)",
        positive_int,
        "N",
    ),
    Option(
        "timeout",
        "deadline for each whole line the client sends, inside DATA too; a client "
        "that misses it gets 421 (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
    Option(
        "max_connections",
        "clients served at once; one more gets 421 (default: %(default)s)",
        positive_int,
        "N",
    ),
    Option(
        "workers",
        "server processes sharing the port and the store, to use N cores; each "
        "serves up to max-connections/N clients (default: %(default)s)",
        positive_int,
        "N",
    ),
    Option(
        "max_client_connections",
        "clients served at once from one address; one more gets 421, others are "
        "still served (0: no limit; default: %(default)s)",
        limit,
        "N",
    ),
    Option(
        "max_client_errors",
        "protocol errors from one address within 10 minutes before its new "
        "connections get 421 (0: no limit; default: %(default)s)",
        limit,
        "N",
    ),
    Option(
        "client_limit_exempt",
        "comma-separated addresses or networks the two limits above do not apply "
        "to; 'none' for none (default: %(default)s)",
        networks,
        "NETS",
        written=DEFAULT_EXEMPT,
    ),
    Option("tls_cert", "certificate chain (PEM) for STARTTLS; with --tls-key", Path, "PEM"),
    Option(
        "tls_key",
        "private key (PEM) for --tls-cert; may be omitted when the certificate file holds it",
        Path,
        "PEM",
    ),
    Option(
        "tls_port",
        "also listen on PORT with TLS from the first byte (implicit TLS, RFC 8314; "
        "465 by convention), with the certificate of --tls-cert; SIGHUP reloads it",
        port_number,
        "PORT",
    ),
    Option(
        "auth",
        "offer SMTP AUTH (PLAIN, LOGIN): 'none' does not; 'any' accepts every "
        "username and password (and CRAM-MD5), to test applications that log in; FILE "
        "checks 'user:hash' lines made by 'postier passwd' (reloaded on SIGHUP). "
        "(default: %(default)s)",
        metavar="none|any|FILE",
    ),
    Option(
        "auth_insecure",
        "offer AUTH without TLS too (by default only after STARTTLS or on --tls-port)",
        switch=True,
    ),
    Option("auth_required", "refuse MAIL with 530 until the client has logged in", switch=True),
    Option(
        "auth_failure_delay",
        "answer a failed login this late, each further failure on the connection or "
        "the account twice as late, up to 16 times; the 5th failure closes the "
        "connection; a wrong --http-auth password likewise (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
    Option(
        "http_host",
        "address the HTTP API listens on (default: --host's)",
        metavar="HOST",
    ),
    Option(
        "http_port",
        "the HTTP API's port (Mailpit's API v1); 0 picks a free one, which the log "
        "names; when the default is taken the server goes on without the API "
        "(default: 8025)",
        port_number,
        "PORT",
    ),
    Option(
        "http_auth",
        "require HTTP basic authentication on the page and the API, from 'user:hash' "
        "lines made by 'postier passwd' (as --auth FILE; reloaded on SIGHUP); /livez "
        "and /readyz stay open",
        Path,
        "FILE",
    ),
    Option("http_tls", "serve HTTPS, with the certificate of --tls-cert", switch=True),
    Option(
        "http_allow_host",
        "comma-separated names the HTTP server answers to when it listens on loopback, "
        "besides localhost, 127.0.0.1 and ::1 (others get 403, against DNS rebinding; "
        "default: none)",
        host_names,
        "NAMES",
        written="none",
    ),
    Option(
        "metrics",
        "serve GET /metrics on the HTTP API: the server's figures in Prometheus's text "
        "format (behind --http-auth like the rest; off by default)",
        switch=True,
    ),
    Option("http", "do not serve the HTTP API", switch=True, negated=True),
    Option(
        "pop3_port",
        "also serve each recipient's mailbox over POP3 on PORT (110 by convention; 0: "
        "a free one, which the log names), STLS with --tls-cert; needs --auth any or "
        "--auth FILE, the user name being the mailbox's address",
        port_number,
        "PORT",
    ),
    Option(
        "pop3s_port",
        "also serve POP3 with TLS from the first byte on PORT (RFC 8314; 995 by "
        "convention), with the certificate of --tls-cert",
        port_number,
        "PORT",
    ),
    Option(
        "accept",
        "accept only the recipients that match REGEX (in full, whatever the case: "
        "'.*@example\\.com'); others hear 550 5.1.1; may be repeated",
        pattern,
        "REGEX",
        repeated=True,
    ),
    Option(
        "reject",
        "refuse the recipients that match REGEX (in full, whatever the case) with 550 "
        "5.1.1, even when an --accept matches; may be repeated",
        pattern,
        "REGEX",
        repeated=True,
    ),
    Option(
        "chaos",
        "fail on purpose, to test how applications cope (off by default): comma-separated "
        "sender=CODE:PCT, recipient=CODE:PCT, authentication=CODE:PCT (Mailpit's "
        "triggers), data=CODE:PCT (at the end of the data), disconnect=PCT (hang up in "
        "the middle of DATA), delay=SECONDS (every reply that late), greylist=SECONDS "
        "(a new client, sender and recipient put off with 451 4.7.1 for that long); "
        "changeable at run time through PUT /api/v1/chaos",
        chaos,
        "TRIGGERS",
        written="off",
    ),
    Option(
        "chaos_seed",
        "seed chaos's dice so that a test run is repeatable (default: a new seed each run)",
        whole_number,
        "N",
    ),
    *RELAY_OPTIONS,
    *WEBHOOK_OPTIONS,
    *CHECK_OPTIONS,
    *TAGS_OPTIONS,
    Option(
        "explain",
        "tell every step of each SMTP session on standard output, by the part of the "
        "server that does it (listener, understand, process...); the log stays on "
        "standard error",
        switch=True,
    ),
    Option(
        "sessions_kept",
        "recent SMTP sessions kept in memory, dialogue and narration included, for the "
        "page's sessions view and /api/v1/sessions; 0 keeps none (default: %(default)s)",
        limit,
        "N",
    ),
    Option(
        "lang",
        "the language of --explain (default: French when LC_ALL, LC_MESSAGES or LANG "
        "names a fr locale, else English)",
        choice(*LANGUAGES),
        choices=LANGUAGES,
    ),
    Option(
        "fsync",
        "do not wait for the disk before answering 250: faster, but a power cut "
        "may lose messages already acknowledged",
        switch=True,
        negated=True,
    ),
    Option(
        "index",
        "do not keep the store's index up to date as mail arrives (readers then "
        "bring it up to date themselves when they look)",
        switch=True,
        negated=True,
    ),
)
"""The options that fill `Settings`, in the order `--help` lists them."""

LOG_LEVELS: Final = ("debug", "info", "warning", "error")


def register(subparsers: Any) -> None:
    parser = subcommand(subparsers, "serve", summary="run the SMTP server", description=DESCRIPTION)
    for option in OPTIONS:
        option.add_to(parser)
    parser.add_argument(
        "--log-level",
        type=choice(*LOG_LEVELS),
        choices=LOG_LEVELS,
        default=env("log_level", "info"),
        help="info logs a line per connection and per message (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Settings:
    _check(args)
    values: dict[str, Any] = {option.setting: option.value(args) for option in OPTIONS}
    return Settings(**values)


def _check(args: argparse.Namespace) -> None:
    """Raise ValueError for options that do not go together."""
    if args.tls_key is not None and args.tls_cert is None:
        raise ValueError("--tls-key needs --tls-cert")
    if args.tls_port is not None and args.tls_cert is None:
        raise ValueError("--tls-port needs --tls-cert")
    if args.tls_port == 0 and args.workers > 1:
        raise ValueError("--tls-port 0 cannot be shared by --workers; give a port number")
    if args.http_tls and args.tls_cert is None:
        raise ValueError("--http-tls needs --tls-cert")
    if args.metrics and args.no_http:
        raise ValueError("--metrics is served by the HTTP API: drop --no-http")
    if (args.pop3_port is not None or args.pop3s_port is not None) and args.auth == "none":
        raise ValueError(
            "POP3 needs logins: give --auth any (any password opens any mailbox) or "
            "--auth FILE (each user reads the mailbox of the same name)"
        )
    if args.pop3s_port is not None and args.tls_cert is None:
        raise ValueError("--pop3s-port needs --tls-cert")
    if args.auth_required and args.auth == "none":
        raise ValueError("--auth-required needs --auth any or --auth FILE")
    if args.auth != "none" and args.tls_cert is None and not args.auth_insecure:
        raise ValueError(
            "--auth is offered over TLS only: give --tls-cert, or --auth-insecure to "
            "offer it in clear"
        )


def run(args: argparse.Namespace) -> int:
    from postier.server import ServerError
    from postier.server import configure_logging as configure_logs
    from postier.server import run as run_server

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
