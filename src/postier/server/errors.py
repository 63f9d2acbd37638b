"""The one error that stops the server from starting or running."""

from __future__ import annotations


class ServerError(Exception):
    """The server cannot start; the message is one line for the user."""
