"""Defaults that the server and the client share, so that neither imports the other's settings."""

from __future__ import annotations

DEFAULT_PORT = 2525
"""postier's own SMTP port: unprivileged, so `postier serve` needs no root, and what
`postier send` talks to unless told otherwise."""

DEFAULT_HTTP_PORT = 8025
"""The HTTP API's port: Mailpit's, where the test helpers written for it look first."""
