"""Plans one copy per distinct mailbox of an envelope, and renders the bytes of each copy.

A copy is the trace headers for its recipient followed by the message with LF line
endings; in an mbox it is also preceded by the `From ` line, mboxrd-quoted, and ended by
an empty line (the message's own last line is ended first if it was not).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .envelope import Envelope
from .interface import MessageSource
from .mboxrd import CrlfToLf, Transform, from_line, mbox_transform
from .naming import StoreFormat, mailbox_path
from .trace import trace_headers

READ_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Copy:
    """One mailbox to deliver to."""

    entry: str
    """The mailbox's entry in the store directory (`alice@example.org.mbox`)."""
    recipient: str
    """The first spelling of the recipient among those sharing this mailbox."""


def plan_copies(
    store_dir: Path, envelope: Envelope, fmt: StoreFormat, known: dict[str, str] | None = None
) -> list[Copy]:
    """One copy per distinct mailbox, in the order of the recipients.

    `A@x` and `a@x` share a mailbox and get one copy. Raises ValueError when there is no
    recipient or a recipient has no valid mailbox. `known` maps recipients already
    checked (in this batch) to their entries, sparing a `stat` per delivery.
    """
    copies: dict[str, Copy] = {}
    for recipient in envelope.recipients:
        entry = None if known is None else known.get(recipient)
        if entry is None:
            entry = mailbox_path(store_dir, recipient, fmt).name
            if known is not None:
                known[recipient] = entry
        if entry not in copies:
            copies[entry] = Copy(entry, recipient)
    if not copies:
        raise ValueError("no recipient")
    return list(copies.values())


def render_copy(
    envelope: Envelope, recipient: str, message: MessageSource, fmt: StoreFormat
) -> Iterator[bytes]:
    """The bytes of `recipient`'s copy, in pieces; the message is read chunk by chunk."""
    head = trace_headers(envelope, recipient)
    transform: Transform
    if fmt == "mbox":
        head = from_line(envelope.sender, envelope.received_at) + head
        transform = mbox_transform()
    else:
        transform = CrlfToLf()
    yield head
    last = head[-1:]
    for chunk in message.chunks(READ_CHUNK):
        if out := transform.feed(chunk):
            last = out[-1:]
            yield out
    if out := transform.finish():
        last = out[-1:]
        yield out
    if fmt == "mbox":
        # The empty line before the next `From ` line ends the message.
        yield b"\n" if last == b"\n" else b"\n\n"
