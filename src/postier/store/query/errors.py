"""The search language's one exception: a query a person typed that cannot be understood.

    ValueError
    └── QueryError   the query is malformed; its text says what and where, in one line

The text is meant for the person who typed the query (the CLI prints it after its prefix,
the HTTP API returns it): it never holds a Python or SQL error, and whatever of the query
it quotes is shortened and has its unprintable characters escaped.
"""

from __future__ import annotations

from typing import Final

_SHOWN: Final = 40
"""At most this many characters of the query are quoted in a message."""


class QueryError(ValueError):
    """A malformed query. `column` is where the problem is (1 for the first character), or
    None when it is the query as a whole (too long, too many terms)."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def show(text: str) -> str:
    """`text` made fit to quote in a one-line message: unprintable characters escaped,
    shortened to a few dozen characters with an ellipsis."""
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[:_SHOWN])
    return shown + ("…" if len(text) > _SHOWN else "")
