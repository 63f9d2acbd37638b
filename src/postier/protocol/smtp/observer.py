"""What the server core tells an onlooker as it goes: each line read, each move of the
state, each reply written (the narration of `postier serve --explain` is built on it).

An onlooker sees the conversation exactly as the core handles it, in its order, with no
second parser: it cannot tell a different story from the one the client lives. With no
onlooker (the usual case) the core pays one `is None` test per step and formats nothing.
"""

from __future__ import annotations

from typing import Protocol

from postier.protocol.smtp.reply import Reply
from postier.protocol.smtp.state import State


class Observer(Protocol):
    """Called by `ServerConnection` as it works; it must not raise."""

    def line(self, line: bytes | None, *, bare_lf: bool) -> None:
        """A command line as the client sent it, without its ending (None: a line over
        the limit, not kept); `bare_lf`: it ended with LF alone (typed into `nc` without
        `-C`, say)."""

    def secret(self) -> None:
        """A line of an AUTH exchange (credentials: never shown)."""

    def moved(self, before: State, after: State) -> None:
        """The state changed (only ever through the core's table)."""

    def replied(self, reply: Reply) -> None:
        """A reply queued for the client, in the order it will be sent."""
