"""Line endings and mboxrd quoting: the streaming transforms between SMTP data and a mailbox.

SMTP carries lines ending in CRLF (RFC 5321 §2.3.8); mailbox files use LF. In an mbox a
line starting with `From ` begins a new message, so mboxrd quoting adds one `>` to every
line matching `^>*From ` and reading removes one; unlike the older mboxo, the quoting can
be undone exactly. Both transforms work on chunks cut anywhere: each carries the few bytes
it cannot decide yet to the next chunk, and never holds a whole line.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime
from typing import Final, Protocol

from .trace import clean

_FROM: Final = b"From "
_QUOTE: Final = re.compile(rb"^(>*From )", re.MULTILINE)
_UNQUOTE: Final = re.compile(rb"^>(>*From )", re.MULTILINE)


class Transform(Protocol):
    """A stateful byte transform: `feed` each chunk in order, then `finish` once."""

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class CrlfToLf:
    """Turns each CRLF into LF; a CR not followed by LF stays as it is."""

    def __init__(self) -> None:
        self._cr_pending = False

    def feed(self, chunk: bytes) -> bytes:
        if self._cr_pending:
            chunk = b"\r" + chunk
        # A trailing CR may be the first half of a CRLF split between two chunks.
        self._cr_pending = chunk.endswith(b"\r")
        if self._cr_pending:
            chunk = chunk[:-1]
        return chunk.replace(b"\r\n", b"\n")

    def finish(self) -> bytes:
        pending, self._cr_pending = self._cr_pending, False
        return b"\r" if pending else b""


class FromQuoter:
    """mboxrd quoting of LF-terminated text: `>` in front of every `^>*From ` line.

    Adding the `>` after a line's leading run of `>` gives the same bytes as adding it in
    front, so that run is written out at once; only a partial `From ` (at most four bytes)
    is held back until the next chunk decides it.
    """

    def __init__(self) -> None:
        self._at_line_start = True
        """Whether the text since the last LF is a run of `>` and then `_held`."""
        self._held = b""
        """A proper prefix of `From ` that may start the current line."""

    def feed(self, chunk: bytes) -> bytes:
        out = b""
        if not self._at_line_start:
            newline = chunk.find(b"\n")
            if newline < 0:
                return chunk
            out, chunk = chunk[: newline + 1], chunk[newline + 1 :]
        text = self._held + chunk
        # Every line to quote holds `From `: most chunks have none, and skip the regex.
        quoted = _QUOTE.sub(rb">\1", text) if _FROM in text else text
        tail = text[text.rfind(b"\n") + 1 :]
        rest = tail.lstrip(b">")
        if rest.startswith(_FROM) or not _FROM.startswith(rest):
            self._at_line_start, self._held = False, b""
            return out + quoted
        # The tail is `>*` then a proper prefix of `From `: nothing was quoted in it, so
        # it ends `quoted`; keep the prefix back.
        self._at_line_start, self._held = True, rest
        return out + quoted[: len(quoted) - len(rest)]

    def finish(self) -> bytes:
        held, self._held, self._at_line_start = self._held, b"", True
        return held


class Pipeline:
    """Several transforms applied in order, chunk by chunk."""

    def __init__(self, *stages: Transform) -> None:
        self._stages = stages

    def feed(self, chunk: bytes) -> bytes:
        for stage in self._stages:
            chunk = stage.feed(chunk)
        return chunk

    def finish(self) -> bytes:
        # What one stage still held is the last input of the next one.
        out = b""
        for stage in self._stages:
            out = stage.feed(out) + stage.finish()
        return out


def mbox_transform() -> Pipeline:
    """CRLF to LF, then mboxrd quoting: SMTP data to an mbox message body."""
    return Pipeline(CrlfToLf(), FromQuoter())


def unquote_mboxrd(data: bytes) -> bytes:
    """Undo mboxrd quoting: one `>` less on every `^>+From ` line."""
    return _UNQUOTE.sub(rb"\1", data)


def from_line(sender: str, when: datetime) -> bytes:
    """The separator line that starts a message in an mbox: `From sender asctime`.

    The null sender is written `MAILER-DAEMON`, as mail systems do; the date is UTC in
    `asctime` form (`Thu Nov 27 02:23:09 2026`), the form Python's `mailbox` writes.
    A space would split the sender from the date, so it is replaced like control characters.
    """
    return _from_line(sender, when.replace(microsecond=0))


@functools.lru_cache(maxsize=256)
def _from_line(sender: str, when: datetime) -> bytes:
    """`from_line` to the second: a busy server writes the same line many times a second.

    Datetimes equal in different zones share an entry, which is right: only UTC is written.
    """
    who = clean(sender, " ") or "MAILER-DAEMON"
    stamp = time.asctime(when.astimezone(UTC).timetuple())
    return f"From {who} {stamp}\n".encode()
