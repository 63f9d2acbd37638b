"""What the reading commands take to name messages: an ID, or an address and numbers.

`read ID`, `delete ADDRESS 2 5`, `mark read ID ID`: an ID (`store.identity`) is never all
digits and never holds `@`, so an argument is told apart as it is written. Every name is
resolved before anything changes, so that a typo deletes nothing and numbers do not
shift under a command that names several.
"""

from __future__ import annotations

from postier.store import is_message_id
from postier.store.read import Located, Reader, ReaderError


class UsageError(ReaderError):
    """Arguments that do not name messages (the command exits 2)."""


def is_id(text: str) -> bool:
    return is_message_id(text.strip())


def resolve(reader: Reader, items: list[str]) -> list[Located]:
    """The messages named by `ID...` or `ADDRESS N|ID...`."""
    if not items:
        raise UsageError("name the messages: ID..., or ADDRESS followed by numbers")
    if is_id(items[0]):
        bad = [item for item in items if not is_id(item)]
        if bad:
            raise UsageError(f"not a message ID: {bad[0]!r} (IDs and an ADDRESS N do not mix)")
        return [reader.message(item.strip()) for item in items]
    address, refs = items[0], items[1:]
    if not refs:
        raise UsageError(f"which messages of {address}? give their numbers or IDs")
    found = []
    for ref in refs:
        if ref.isdigit() and int(ref) >= 1:
            found.append(reader.numbered(address, int(ref)))
        elif is_id(ref):
            found.append(reader.message(ref.strip()))
        else:
            raise UsageError(f"not a message number or ID: {ref!r}")
    return found
