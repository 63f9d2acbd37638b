"""The options of `postier serve` that tell other programs of each new message (webhooks),
and the check of a webhook's URL."""

from __future__ import annotations

import argparse
from typing import Final
from urllib.parse import urlsplit

from postier.cli.options import positive_int, seconds
from postier.cli.serve_option import Option

SCHEMES: Final = ("http", "https")


def webhook_url(text: str) -> str:
    """An absolute http or https URL with a host, as given; anything else is refused at
    start, in one line, rather than failing on each message."""
    shown = repr(str(text))
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise argparse.ArgumentTypeError(f"not a URL: {shown} (it holds a space)")
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES:
        raise argparse.ArgumentTypeError(f"not an http or https URL: {shown}")
    try:
        parts.port  # noqa: B018 - raises ValueError when the port is not a number in range
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number in the URL {shown}") from None
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"no host in the URL {shown}")
    return str(text)


WEBHOOK_OPTIONS: Final = (
    Option(
        "webhook",
        "POST each new message, as its summary JSON (Mailpit's, as /api/v1/messages lists "
        "it), to URL (http or https), from the background: a delivery never waits for it; "
        "a failure is logged and retried, each time twice as late, for five minutes; "
        "may be repeated",
        webhook_url,
        "URL",
        repeated=True,
    ),
    Option(
        "webhook_limit",
        "webhook requests in flight at once, across every URL (default: %(default)s)",
        positive_int,
        "N",
    ),
    Option(
        "webhook_timeout",
        "seconds a webhook request may take before it counts as failed (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
)
