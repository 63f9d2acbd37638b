"""A message's MIME tree as Mailpit's API names it: each leaf part with its `PartID`
(the path of 1-based child numbers from the top, `1.2`; a message of one part is `1`),
and the split of the non-body leaves into `Inline` and `Attachments`.

Which leaves are bodies is the read side's one rule (`store.read.mime.is_body`), so the
`Attachments` count of a summary and the parts listed here agree. Of the other leaves,
those meant to be shown within the HTML (`Content-Disposition: inline`, or a
`Content-ID` without `attachment`) are inline, as Mailpit has them; the rest are
attachments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from functools import partial

from postier.store.read import MAX_DEPTH, is_body


@dataclass(frozen=True, slots=True)
class Part:
    """One leaf of the tree that is not a body."""

    part_id: str
    file_name: str
    """Its file name, else its Content-ID (as Mailpit shows an unnamed inline image)."""
    content_type: str
    content_id: str
    inline: bool
    message: Message = field(repr=False, compare=False)

    def content(self) -> bytes:
        """The part's bytes, transfer encoding undone; a forwarded message as its bytes."""
        payload = self.message.get_payload()
        if isinstance(payload, list):
            if self.message.get_content_maintype() != "message" or not payload:
                return b""
            inner = payload[0]
            with contextlib.suppress(Exception):
                return inner.as_bytes() if isinstance(inner, Message) else b""
            return b""
        data = self.message.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""


def numbered_leaves(root: Message) -> Iterator[tuple[str, Message]]:
    """Every leaf of the tree with its PartID, depth first (forwarded messages are leaves)."""

    def walk(part: Message, path: str, depth: int) -> Iterator[tuple[str, Message]]:
        children = part.get_payload() if part.is_multipart() else None
        if part.get_content_maintype() == "multipart" and children and depth < MAX_DEPTH:
            for number, child in enumerate(children, 1):
                if isinstance(child, Message):
                    yield from walk(child, f"{path}.{number}" if path else str(number), depth + 1)
        else:
            yield path or "1", part

    return walk(root, "", 0)


def parts(root: Message) -> list[Part]:
    """The leaves of `root` that are not bodies, in order."""
    found = []
    for part_id, leaf in numbered_leaves(root):
        name = _text(leaf.get_filename) or None
        disposition = leaf.get_content_disposition()
        if is_body(leaf.get_content_type(), disposition, name):
            continue
        content_id = _text(partial(leaf.get, "content-id")).strip().strip("<>")
        inline = disposition == "inline" or (bool(content_id) and disposition != "attachment")
        found.append(
            Part(
                part_id=part_id,
                file_name=name or content_id,
                content_type=leaf.get_content_type(),
                content_id=content_id,
                inline=inline,
                message=leaf,
            )
        )
    return found


def find(root: Message, part_id: str) -> Part | None:
    """The non-body leaf numbered `part_id`, if there is one."""
    return next((part for part in parts(root) if part.part_id == part_id), None)


def _text(read: Callable[[], object]) -> str:
    """A header parameter or value as text; "" when it is missing or malformed."""
    try:
        value = read()
    except Exception:  # a malformed parameter: as if it were not there
        return ""
    return "" if value is None else str(value)
