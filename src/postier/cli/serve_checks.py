"""The options of `postier serve` for the message checks of the HTTP API: the spam check's
SpamAssassin daemon and what the link check may reach."""

from __future__ import annotations

import argparse
from typing import Final

from postier.cli.options import seconds
from postier.cli.serve_option import Option


def host_port(text: str) -> str:
    """`HOST:PORT` (`[v6]:PORT`), checked and kept as written."""
    host, colon, port = text.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--spamd wants HOST:PORT, not {text!r}")
    return text


CHECK_OPTIONS: Final = (
    Option(
        "spamd",
        "the spam check (GET /api/v1/message/ID/sa-check) asks the SpamAssassin daemon "
        "at HOST:PORT (default: the check is off)",
        host_port,
        "HOST:PORT",
    ),
    Option(
        "spamd_timeout",
        "how long the spam check waits for the daemon (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
    Option(
        "link_check",
        "the link check (GET /api/v1/message/ID/link-check) tests each link with a HEAD "
        "request (otherwise it only lists them); never a private or loopback address "
        "unless --link-check-private",
        switch=True,
    ),
    Option(
        "link_check_private",
        "let the link check reach private, loopback and link-local addresses (a message "
        "then makes the server probe its own network)",
        switch=True,
    ),
    Option(
        "link_check_timeout",
        "how long the link check gives each link, redirects included (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
)
