"""The journal's record: how a transaction's entries and its completion are written as
bytes and read back, whatever the crash left (see `journal` for the file that holds it).

The record is a JSON object at the start of the journal file, padded with spaces; the
completion, when there is one, starts on the next whole block, so that writing it cannot
tear the record. A record whose first byte is not `{` holds no transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

VERSION: Final = 2
_READABLE_VERSIONS: Final = (1, 2)
"""Version 1 records (no id, no completion) are still rolled back after an upgrade."""
_BLOCK: Final = 4096
"""The completion starts on a block of its own, so writing it cannot tear the record."""
CLEARED: Final = b" "
"""What overwrites a record's opening `{` once its transaction is over."""
_OPENING: Final = b"{"
PADDING: Final = b" "


def is_entry_name(name: str) -> bool:
    """Whether `name` can be a single entry of the store: no separator, not hidden."""
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


def holds_transaction(data: bytes) -> bool:
    """Whether a journal's bytes hold a record (complete or not) rather than nothing."""
    return data[:1] == _OPENING


@dataclass(frozen=True, slots=True)
class JournalEntries:
    """What one transaction may leave behind in the store."""

    mbox_sizes: dict[str, int] = field(default_factory=dict)
    """Each mbox file name (in the store) and its size before the transaction."""
    maildir_files: tuple[str, ...] = ()
    """Each Maildir copy as `<mailbox>/<unique name>`, in `tmp/` or `new/`."""
    record_id: int = 0
    """Ties a completion to its record: a completion left by an earlier one is ignored."""
    mbox_ends: dict[str, int] | None = None
    """Each mbox's size once everything is appended, when known; None otherwise."""
    finished: bool = False
    """Whether a completion follows the record: written once the batch's appends are all
    made (mbox) or once its copies are all durable in `new/` (Maildir, where readers
    take it as the end of the batch)."""

    def encode(self) -> bytes:
        document: dict[str, object] = {
            "version": VERSION,
            "id": self.record_id,
            "mbox": self.mbox_sizes,
            "maildir": self.maildir_files,
        }
        if self.mbox_ends is not None:
            document["ends"] = self.mbox_ends
        return json.dumps(document, separators=(",", ":")).encode()

    def encode_completion(self, mbox_ends: dict[str, int]) -> bytes:
        document = {"id": self.record_id, "ends": mbox_ends}
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> JournalEntries | None:
        """The entries, or None when `data` is not a complete journal of a known version.

        A completion that is torn, of another record, or malformed is left out (`mbox_ends`
        None): the batch may not have finished.
        """
        if not holds_transaction(data):
            return None  # cleared, or never written
        decoder = json.JSONDecoder()
        try:
            text = data.decode(errors="replace")  # a torn completion may hold anything
            document, end = decoder.raw_decode(text)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("version") not in _READABLE_VERSIONS:
            return None
        sizes, files = document.get("mbox"), document.get("maildir")
        record_id = document.get("id", 0)
        if not isinstance(sizes, dict) or not isinstance(files, list) or type(record_id) is not int:
            return None
        if not all(is_entry_name(name) and type(size) is int for name, size in sizes.items()):
            return None
        if not all(isinstance(item, str) and _is_maildir_item(item) for item in files):
            return None
        ends = _decode_completion(decoder, text, end, record_id, sizes)
        finished = ends is not None
        if ends is None:
            ends = _valid_ends(document.get("ends"), sizes)
        return cls(sizes, tuple(files), record_id, ends, finished)


def _decode_completion(
    decoder: json.JSONDecoder, text: str, start: int, record_id: int, sizes: dict[str, int]
) -> dict[str, int] | None:
    """The ends in the completion after the record at `start`, if whole and of this record."""
    rest = text[start:].lstrip()
    if not rest.startswith("{"):
        return None
    try:
        document, _ = decoder.raw_decode(rest)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("id") != record_id:
        return None
    return _valid_ends(document.get("ends"), sizes)


def _valid_ends(ends: object, sizes: dict[str, int]) -> dict[str, int] | None:
    if not isinstance(ends, dict) or ends.keys() != sizes.keys():
        return None
    if not all(type(end) is int and end >= sizes[name] for name, end in ends.items()):
        return None
    return ends


def _is_maildir_item(item: str) -> bool:
    mailbox, _, unique = item.partition("/")
    return is_entry_name(mailbox) and is_entry_name(unique)


def completion_offset(record_length: int) -> int:
    """Where a record's completion goes: the first whole block after the record."""
    return -(-(record_length + 1) // _BLOCK) * _BLOCK
