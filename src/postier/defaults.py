"""Defaults that the server and the client share, so that neither imports the other's settings."""

from __future__ import annotations

DEFAULT_PORT = 2525
"""postier's own SMTP port: unprivileged, so `postier serve` needs no root, and what
`postier send` talks to unless told otherwise."""
