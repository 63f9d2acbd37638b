"""One message waiting in the outbound queue: who it goes to and how its tries went.

Kept as a small JSON file beside the message's data (`<id>.json` by `<id>.msg`), so that
`postier queue` and a person with `cat` read the same thing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Final

FORMAT: Final = 1
"""The version of an entry's JSON; a later postier reads older ones."""


class EntryError(ValueError):
    """An entry's file that is not one this postier wrote."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """What the deliverer needs to send one message upstream, and what it learnt so far."""

    id: str
    """The entry's name in the queue (also its files' names)."""
    queue_id: str
    """The id of the SMTP transaction that brought the message in (its `Received:` id)."""
    sender: str
    """The envelope sender upstream ("" for the null sender)."""
    recipients: tuple[str, ...]
    """Who is still to receive it: accepted recipients leave the list."""
    size: int
    """The data's size as SIZE counts it (RFC 1870 §3), for MAIL's SIZE parameter."""
    eight_bit: bool
    smtputf8: bool
    queued_at: float
    """When it entered the queue (seconds since the epoch); it is given up `max_age` later."""
    attempts: int = 0
    next_try: float = 0.0
    """When it is tried next (seconds since the epoch); 0: at once."""
    last_error: str = ""
    """The upstream's last reply, or why it could not be reached, for `postier queue`."""

    def to_json(self) -> bytes:
        fields = dataclasses.asdict(self)
        fields["recipients"] = list(self.recipients)
        return json.dumps({"format": FORMAT, **fields}, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> QueueEntry:
        try:
            fields: Any = json.loads(data)
            if not isinstance(fields, dict):
                raise TypeError("not a JSON object")
            fields.pop("format", None)
            recipients = fields["recipients"]
            if not isinstance(recipients, list):
                raise TypeError("recipients is not a list")
            fields["recipients"] = tuple(recipients)
            entry = cls(**fields)
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise EntryError(f"not a queue entry: {exc}") from None
        # A field of the wrong type would fail later, in the deliverer's arithmetic.
        wrong = [name for name, kinds in _TYPES.items() if not _is(getattr(entry, name), kinds)]
        if wrong or not all(isinstance(r, str) for r in entry.recipients):
            raise EntryError(f"not a queue entry: wrong types ({', '.join(wrong) or 'recipients'})")
        return entry

    def tried(self, *, error: str, at: float, delay: float, left: tuple[str, ...]) -> QueueEntry:
        """After a try that left `left` to deliver, the next one `delay` seconds later."""
        return dataclasses.replace(
            self, recipients=left, attempts=self.attempts + 1, next_try=at + delay, last_error=error
        )


_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "id": (str,),
    "queue_id": (str,),
    "sender": (str,),
    "size": (int,),
    "eight_bit": (bool,),
    "smtputf8": (bool,),
    "queued_at": (int, float),
    "attempts": (int,),
    "next_try": (int, float),
    "last_error": (str,),
}
"""Each field's JSON types but `recipients` (JSON has one number type: ints for floats)."""


def _is(value: object, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a bool is an int to isinstance, not to an entry
        return bool in kinds
    return isinstance(value, kinds)
