"""The options of `postier serve` that pass mail on to an upstream server (relay and
release); `postier release` takes the upstream's among them too."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from postier.cli.options import pattern, seconds
from postier.cli.serve_option import Option

RELAY_OPTIONS: Final = (
    Option(
        "relay",
        "pass mail on to this SMTP server (port 25 unless given; 465 with --relay-tls): "
        "the copies of recipients matching --relay-match, through a queue on disk "
        "(postier queue), and releases (postier release, POST /api/v1/message/ID/release)",
        metavar="HOST[:PORT]",
    ),
    Option("relay_starttls", "upgrade to TLS with the upstream (STARTTLS), or fail", switch=True),
    Option("relay_tls", "TLS with the upstream from the first byte (port 465)", switch=True),
    Option(
        "relay_auth",
        "log in to the upstream as USER:PASSWORD (better: --relay-auth-file)",
        metavar="USER:PASSWORD",
    ),
    Option(
        "relay_auth_file",
        "log in to the upstream with the USER:PASSWORD line of FILE",
        Path,
        "FILE",
    ),
    Option(
        "relay_ca",
        "trust this authority for the upstream's certificate instead of the system's",
        Path,
        "PEM",
    ),
    Option(
        "relay_match",
        "relay the copies of the recipients that match REGEX (in full, whatever the "
        "case); none given: nothing is relayed; may be repeated",
        pattern,
        "REGEX",
        repeated=True,
    ),
    Option(
        "relay_exclude",
        "never relay the recipients that match REGEX, even when a --relay-match does; "
        "may be repeated",
        pattern,
        "REGEX",
        repeated=True,
    ),
    Option(
        "relay_from",
        "the envelope sender upstream, instead of the message's own",
        metavar="ADDRESS",
    ),
    Option(
        "relay_max_age",
        "how long a message the upstream puts off is retried before it is dropped "
        "(default: 432000, five days)",
        seconds,
        "SECONDS",
    ),
    Option(
        "relay_retry",
        "the delay before the first retry; each further one waits twice as long, up to "
        "an hour (default: %(default)s)",
        seconds,
        "SECONDS",
    ),
    Option(
        "release_allow",
        "the recipients a release may name must match REGEX (in full, whatever the case); "
        "may be repeated (default: any)",
        pattern,
        "REGEX",
        repeated=True,
    ),
)
