"""`postier send`: parse the client's options, write the message, send it, report in one line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from enum import IntEnum
from pathlib import Path
from typing import Any

from postier.cli.options import env, seconds
from postier.cli.send_input import UsageError, draft, read_bytes
from postier.client import (
    DEFAULT_TIMEOUT,
    IMPLICIT_TLS_PORT,
    AuthenticationError,
    Client,
    ClientError,
    ClientTimeoutError,
    ConnectError,
    ConnectionLostError,
    RefusedError,
    Security,
    SendResult,
    TlsError,
    Transcript,
    address_of,
    client_context,
    compose,
)
from postier.defaults import DEFAULT_PORT
from postier.explain.language import LANGUAGES, Language, language_from_environment
from postier.protocol.smtp import MECHANISMS, AddressError, Rcpt, validate_mailbox

SUBMISSION_PORT = 587  # RFC 6409, where STARTTLS is the custom


class ExitStatus(IntEnum):
    """What `postier send` exits with; each failure has its own, for scripts to tell apart.

    Each status carries its `meaning`, the line `--help` gives for it.
    """

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitStatus:
        status = int.__new__(cls, code)
        status._value_ = code
        status.meaning = meaning
        return status

    OK = 0, "every recipient accepted the message and the data got 250"
    ERROR = 1, "an unexpected local failure"
    USAGE = 2, "bad usage: options, unreadable files, bad addresses"
    """argparse's own status for bad usage."""
    CANNOT_CONNECT = 3, "cannot connect to the server"
    REFUSED = 4, "refused by the server (service, sender, every recipient, DATA, message)"
    PARTIAL = 5, "some recipients refused; the message went to the others"
    TLS = 6, "TLS failure: STARTTLS not offered or refused, handshake, certificate"
    AUTH = 7, "authentication failed"
    TIMEOUT = 8, "the server stopped answering (--timeout)"
    PROTOCOL = 9, "the server closed the connection or broke the protocol"


_STATUSES = "\n".join(f"  {status:d}  {status.meaning}" for status in ExitStatus)
EPILOG = f"""\
exit status:
{_STATUSES}

examples:
  echo hello | postier send --from me@example.com --to you@example.com
  POSTIER_AUTH_PASSWORD=secret postier send --server smtp.example.com:587 --starttls \\
      --auth-user me --from me@example.com --to you@example.com --subject report \\
      --body-file report.txt --attach report.pdf
  postier send --transcript --data message.eml --to you@example.com"""

DESCRIPTION = """\
Send one message over SMTP, written from the options (headers, text, HTML, attachments)
or taken as it is from a file (--data). Without --body, --body-file or --data, the text
is read from standard input. Port 465 implies --tls; on port 587 STARTTLS is used when
offered. Every failure is one line on standard error and an exit status of its own."""


@dataclass(frozen=True, slots=True)
class Job:
    """Everything `postier send` needs, checked and read before connecting."""

    host: str
    port: int
    security: Security
    message: EmailMessage | bytes
    sender: str | None
    recipients: tuple[str, ...] | None


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "send",
        help="send a message over SMTP",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_envelope_options(parser)
    _add_content_options(parser)
    _add_connection_options(parser)
    parser.set_defaults(run=run)


def _add_envelope_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--server",
        default=env("server", f"localhost:{DEFAULT_PORT}"),
        metavar="HOST[:PORT]",
        help="the SMTP server; [::1]:25 for IPv6 (default: $POSTIER_SERVER or %(default)s)",
    )
    add("--from", dest="sender", metavar="ADDR", help="the sender: address or 'Name <address>'")
    add("--to", action="append", default=[], metavar="ADDR", help="a recipient (repeatable)")
    add("--cc", action="append", default=[], metavar="ADDR", help="a copy recipient (repeatable)")
    add(
        "--bcc",
        action="append",
        default=[],
        metavar="ADDR",
        help="a hidden recipient: in the envelope only, never in the headers (repeatable)",
    )


def _add_content_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--subject", metavar="TEXT", help="the Subject header (non-ASCII is encoded, RFC 2047)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT", help="the text of the message")
    body.add_argument("--body-file", type=Path, metavar="FILE", help="read the text from FILE")
    body.add_argument(
        "--data",
        metavar="FILE",
        help="send FILE ('-': standard input), a ready RFC 5322 message, as it is; "
        "--from and the recipients default to its headers",
    )
    add("--html-file", type=Path, metavar="FILE", help="add an HTML version of the text")
    add(
        "--attach",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="attach FILE, its MIME type guessed from its name (repeatable)",
    )
    add(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a header, or replace one postier writes (repeatable)",
    )


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--helo", metavar="NAME", help="the name to give in EHLO (default: this host's)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument(
        "--starttls",
        action="store_true",
        help="upgrade to TLS with STARTTLS; fail if the server does not offer it",
    )
    tls.add_argument("--tls", action="store_true", help="TLS from the start (implied by port 465)")
    add("--cafile", type=Path, metavar="PEM", help="trust this authority instead of the system's")
    add(
        "--insecure",
        action="store_true",
        help="do not check the server's certificate (still encrypted, but unauthenticated)",
    )
    add("--auth-user", metavar="USER", help="log in as USER (AUTH PLAIN, LOGIN or CRAM-MD5)")
    add(
        "--auth-password",
        default=env("auth_password", None),
        metavar="PASS",
        help="the password for --auth-user (default: $POSTIER_AUTH_PASSWORD)",
    )
    add(
        "--auth-mechanism",
        choices=list(MECHANISMS),
        type=str.upper,
        help="the SASL mechanism to use (default: the best the server offers)",
    )
    add(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long each step may take (default: %(default)g)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--quiet", action="store_true", help="print nothing on success (errors still go out)"
    )
    output.add_argument(
        "--transcript",
        action="store_true",
        help="print the whole dialogue: C: client lines, S: server lines (secrets masked)",
    )
    output.add_argument(
        "--explain",
        action="store_true",
        help="tell each step by the part of the client that does it (writer, send, "
        "listen, processing...), secrets masked",
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help="the language of --explain (default: French for a fr locale in LC_ALL, "
        "LC_MESSAGES or LANG, else English)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        job = plan(args)
    except UsageError as exc:
        return _fail(f"{exc}", ExitStatus.USAGE)
    try:
        return asyncio.run(_send(job, args))
    except KeyboardInterrupt:
        return 130
    except ClientError as exc:
        return _fail(str(exc), status_of(exc))
    except AddressError as exc:
        return _fail(f"bad address: {exc}", ExitStatus.USAGE)
    except Exception as exc:  # the user gets one line, never a traceback
        return _fail(f"unexpected error: {type(exc).__name__}: {exc}", ExitStatus.ERROR)


def status_of(error: ClientError) -> ExitStatus:
    """The exit status that tells scripts what kind of failure `error` is."""
    kinds: list[tuple[type[ClientError], ExitStatus]] = [
        (ConnectError, ExitStatus.CANNOT_CONNECT),
        (TlsError, ExitStatus.TLS),
        (AuthenticationError, ExitStatus.AUTH),
        (ClientTimeoutError, ExitStatus.TIMEOUT),
        (ConnectionLostError, ExitStatus.PROTOCOL),
        (RefusedError, ExitStatus.REFUSED),
    ]
    return next((status for kind, status in kinds if isinstance(error, kind)), ExitStatus.ERROR)


# --- from options to a job ------------------------------------------------------------------


def plan(args: argparse.Namespace) -> Job:
    """Check the options and read every file, before any connection is made."""
    host, port = parse_server(args.server)
    if args.auth_user and args.auth_password is None:
        raise UsageError("--auth-user needs --auth-password (or $POSTIER_AUTH_PASSWORD)")
    recipients = [address_of(a) for a in (*args.to, *args.cc, *args.bcc)]
    if args.data is not None:
        message: EmailMessage | bytes = read_bytes(args.data)
        sender = address_of(args.sender) if args.sender else None
        return Job(host, port, _security(args, port), message, sender, _or_none(recipients))
    if not args.sender:
        raise UsageError("--from is required (or --data with a From header)")
    if not recipients:
        raise UsageError("at least one --to, --cc or --bcc is required")
    _check_addresses(address_of(args.sender), recipients)
    try:
        message = compose(draft(args))
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Job(
        host, port, _security(args, port), message, address_of(args.sender), tuple(recipients)
    )


def _check_addresses(sender: str, recipients: Sequence[str]) -> None:
    """Each address against RFC 5321 §4.1.2, so a typo is caught before connecting."""
    for address in (sender, *recipients):
        try:
            validate_mailbox(address, allow_postmaster=address != sender)
        except AddressError as exc:
            raise UsageError(f"bad address {address!r}: {exc}") from None


def parse_server(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to postier's own."""
    host, port = text.strip(), ""
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        host, port = inner, rest.removeprefix(":")
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if not host:
        raise UsageError(f"--server: no host in {text!r}")
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--server: bad port in {text!r}")
    return host, int(port)


def _security(args: argparse.Namespace, port: int) -> Security:
    if args.tls or (port == IMPLICIT_TLS_PORT and not args.starttls):
        return Security.TLS
    if args.starttls:
        return Security.STARTTLS
    if port == SUBMISSION_PORT:
        return Security.STARTTLS_IF_OFFERED
    return Security.NONE


def _or_none(recipients: Sequence[str]) -> tuple[str, ...] | None:
    return tuple(recipients) if recipients else None


# --- sending --------------------------------------------------------------------------------


async def _send(job: Job, args: argparse.Namespace) -> int:
    context = None
    if job.security is not Security.NONE:
        context = client_context(args.cafile, insecure=args.insecure)
    transcript = Transcript(sys.stdout) if args.transcript else None
    if args.explain:
        transcript = _narrator(job, args.lang)
    client = Client(
        job.host,
        job.port,
        security=job.security,
        ssl_context=context,
        timeout=args.timeout,
        local_hostname=args.helo,
        transcript=transcript,
    )
    async with client:
        if job.security is Security.STARTTLS_IF_OFFERED and not client.encrypted:
            _warn(f"port {job.port} offers no STARTTLS: the message goes in clear")
        if args.auth_user:
            if not client.encrypted and not client.peer_is_loopback:
                _warn(f"AUTH over an unencrypted connection to {job.host}: use --starttls or --tls")
            await client.login(args.auth_user, args.auth_password, mechanism=args.auth_mechanism)
        result = await client.send_message(job.message, job.sender, job.recipients)
    return _report(result, quiet=args.quiet)


def _narrator(job: Job, lang: Language | None) -> Transcript:
    """`--explain`: the client's parts tell the dialogue; the writer speaks first."""
    from postier.explain import TerminalPrinter
    from postier.explain.client_narrator import ClientNarrator
    from postier.explain.explainer import CATALOGUES

    language = lang or language_from_environment(os.environ)
    narrator = ClientNarrator(CATALOGUES[language], TerminalPrinter(language))
    message = job.message
    data = message if isinstance(message, bytes) else message.as_bytes()
    subject = "" if isinstance(message, bytes) else str(message.get("Subject", ""))
    narrator.composed(len(data), subject, job.recipients or ())
    return narrator


def _report(result: SendResult, *, quiet: bool) -> int:
    for recipient, reply in result.refused.items():
        print(f"postier: server refused {Rcpt(recipient).line()}: {reply}", file=sys.stderr)
    if result.refused:
        sent_to = ", ".join(result.accepted)
        print(f"postier: the message went only to {sent_to}: {result.reply}", file=sys.stderr)
        return ExitStatus.PARTIAL
    if not quiet:
        print(f"sent to {', '.join(result.accepted)}: {result.reply}")
    return ExitStatus.OK


def _warn(text: str) -> None:
    print(f"postier: warning: {text}", file=sys.stderr)


def _fail(text: str, status: ExitStatus) -> int:
    print(f"postier: {text}", file=sys.stderr)
    return int(status)
