"""`Frames.looked`: what another process changed in a file is told, and of that file only
what changed is made into frames again (counted, not timed): a large mailbox that grows
by one message costs one message's frames, not its whole length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat
from postier.store.read import Reader
from postier.web import Mail
from postier.web.frames import Frames
from tests.store_read.helpers import deliver, plain

FORMATS: list[StoreFormat] = ["mbox", "maildir"]


def _told(frames: list[str]) -> list[tuple[str, object]]:
    """Each frame's type and the ID it names (None for the counts)."""
    told = []
    for text in frames:
        item = json.loads(text)
        data = item["Data"]
        told.append((item["Type"], data.get("ID") if item["Type"] != "stats" else None))
    return told


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_moved_file_makes_frames_of_what_changed_alone(tmp_path: Path, fmt: StoreFormat) -> None:
    deliver(tmp_path, fmt, [plain(f"old {n}") for n in range(30)])
    reader = Reader(tmp_path, fsync=False)
    mail = Mail(reader)
    other = Reader(tmp_path, fsync=False)  # another process, as far as `reader` knows
    try:
        reader.sync()
        frames = Frames(mail, "test", 2000)
        asked: list[list[str]] = []
        made = frames._frames

        def counting(ids: list[str]) -> list[str]:
            asked.append(list(ids))
            return made(ids)

        frames._frames = counting  # type: ignore[method-assign]
        assert frames.looked() == []  # nothing moved

        def ids(subject: str) -> tuple[str, str]:
            """The entry of all mail (what frames name) and the copy (what files hold)."""
            (entry,) = [m.id for m in other.messages(limit=None).messages if m.subject == subject]
            mailbox = other.messages("alice@example.org", limit=None).messages
            (copy,) = [m.id for m in mailbox if m.subject == subject]
            return entry, copy

        deliver(tmp_path, fmt, [plain("new one")])
        other.sync()
        entry, copy = ids("new one")
        assert _told(frames.looked()) == [("new", entry), ("stats", None)]
        assert asked[-1] == [copy]  # not the 30 others of its file

        entry, copy = ids("old 3")
        other.mark([copy], read=True)
        assert _told(frames.looked()) == [("update", entry), ("stats", None)]
        assert asked[-1] == [copy]

        other.delete([copy])
        assert _told(frames.looked()) == [("delete", entry), ("stats", None)]
        assert asked[-1] == [copy]
    finally:
        other.close()
        mail.close()
        reader.close()
