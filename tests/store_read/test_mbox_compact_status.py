"""The `Status:` field: read state found and written as mutt and Thunderbird keep it."""

from __future__ import annotations

import pytest

from postier.store.read.mbox_compact import status_seen
from postier.store.read.mbox_status import with_status

HEAD = b"From: a@b\nSubject: s\n"
BODY = b"\nStatus: R\n"  # in the body: not a field

SEEN = [
    (HEAD + b"\n" + BODY, None),
    (HEAD + b"Status: RO\n\nbody\n", True),
    (HEAD + b"status:  OR \n\n", True),
    (HEAD + b"Status: O\n\n" + BODY, False),
    (HEAD + b"Status:\n\n", False),
    (HEAD + b"X-Status: R\n\n", None),
    (HEAD + b"Status: R\r\n\r\n", True),
    (HEAD + b"Status: O\n", False),  # a header block alone
    (b"", None),
]


@pytest.mark.parametrize(("message", "seen"), SEEN)
def test_status_seen(message: bytes, seen: bool | None) -> None:
    assert status_seen(message) is seen


EDITS = [
    # (message, mark read?, expected)
    (HEAD + b"\nbody\n", True, HEAD + b"Status: RO\n\nbody\n"),
    (HEAD + b"\nbody\n", False, HEAD + b"\nbody\n"),
    (HEAD + b"Status: O\nTo: c@d\n\nbody\n", True, HEAD + b"Status: RO\nTo: c@d\n\nbody\n"),
    (HEAD + b"Status: RO\n\n", True, HEAD + b"Status: RO\n\n"),
    (HEAD + b"Status: OR\n\n", True, HEAD + b"Status: OR\n\n"),
    (HEAD + b"Status: R\n\n", True, HEAD + b"Status: RO\n\n"),
    (HEAD + b"Status: RO\n\n", False, HEAD + b"Status: O\n\n"),
    (HEAD + b"Status: R\nTo: c@d\n\n", False, HEAD + b"To: c@d\n\n"),
    (HEAD + b"Status: O\n\n", False, HEAD + b"Status: O\n\n"),
    (HEAD + b"Status: R\r\n\r\n", False, HEAD + b"\r\n"),
    (b"Subject: s\r\n\r\nbody\r\n", True, b"Subject: s\r\nStatus: RO\r\n\r\nbody\r\n"),
    (HEAD + b"\n" + BODY, True, HEAD + b"Status: RO\n\n" + BODY),
    (b"Subject: s", True, b"Subject: s\nStatus: RO\n"),
    (b"\nbody\n", True, b"Status: RO\n\nbody\n"),
]


@pytest.mark.parametrize(("message", "seen", "expected"), EDITS)
def test_with_status(message: bytes, seen: bool, expected: bytes) -> None:
    edited = with_status(message, seen)
    assert edited == expected
    assert bool(status_seen(edited)) is seen  # no field at all reads as unread
