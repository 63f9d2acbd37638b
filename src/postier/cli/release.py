"""`postier release`: send one stored message on to chosen recipients, through the upstream."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, Final

from postier.cli.console import USAGE_ERROR, add_store_option, error, print_lines, run_command
from postier.cli.options import env, subcommand
from postier.cli.refs import UsageError, resolve
from postier.cli.send import ExitStatus, status_of
from postier.cli.serve import OPTIONS
from postier.client import ClientError
from postier.relay import RelayConfigError, ReleaseError, release
from postier.settings import Settings
from postier.store.read import Reader

DESCRIPTION = """\
Send a stored message (by ID, or ADDRESS N as `postier read` numbers them) to the
recipients given, through the upstream SMTP server: the one --relay names, else
$POSTIER_RELAY (as postier serve takes it). The copy sent is the one stored, less the
Return-Path: and Delivered-To: of its delivery here and any Bcc:; its envelope sender is
the one it came with, or --relay-from. The upstream's answer is printed; the exit status
is the one `postier send` gives for the same outcome."""

RELEASE_OPTIONS: Final = frozenset(
    {"relay", "relay_starttls", "relay_tls", "relay_auth", "relay_auth_file", "relay_ca",
     "relay_from", "release_allow", "hostname"}
)  # fmt: skip
"""The options of `postier serve` a release takes too (the upstream and its limits)."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers,
        "release",
        summary="send a stored message on to a real server",
        description=DESCRIPTION,
    )
    parser.add_argument("message", nargs="+", metavar="ID|ADDRESS N", help="the message")
    parser.add_argument(
        "--to", action="append", default=[], metavar="ADDR", help="a recipient (repeatable)"
    )
    for option in OPTIONS:
        if option.setting in RELEASE_OPTIONS:
            option.add_to(parser)
    add_store_option(parser, env("store", "mail"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    values: dict[str, Any] = {
        option.setting: option.value(args)
        for option in OPTIONS
        if option.setting in RELEASE_OPTIONS
    }
    try:
        config = Settings(**values).relay_config()
    except RelayConfigError as exc:
        error(str(exc))
        return USAGE_ERROR
    if config.upstream is None:
        error("release needs an upstream server: give --relay HOST[:PORT] (or $POSTIER_RELAY)")
        return USAGE_ERROR
    if not args.to:
        error("release to whom? give --to ADDR")
        return USAGE_ERROR
    if not args.store.is_dir():
        error(f"no store at {args.store}: give --store DIR, as given to postier serve")
        return 1

    def released() -> int:
        with Reader(args.store) as reader:
            try:
                found = resolve(reader, args.message)
            except UsageError as problem:
                error(str(problem))
                return USAGE_ERROR
            if len(found) != 1:
                error("release one message at a time")
                return USAGE_ERROR
            try:
                result = asyncio.run(
                    release(
                        config,
                        lambda: reader.open_raw(found[0]),
                        args.to,
                        hostname=str(values["hostname"]),
                    )
                )
            except ReleaseError as exc:
                error(str(exc))
                return USAGE_ERROR if exc.kind != "refused" else 1
            except ClientError as exc:
                error(f"not released: {exc}")
                return int(status_of(exc))
        lines = [
            f"Released {found[0].id} to {', '.join(f'<{a}>' for a in result.accepted)} "
            f"via {config.upstream}: {result.reply}"
        ]
        lines += [f"refused <{r}>: {reply}" for r, reply in result.refused.items()]
        print_lines(lines)
        return 0 if result.ok else int(ExitStatus.PARTIAL)

    return run_command(released)
