"""Maildir read state: names as mutt, Dovecot and Python's `mailbox` write and read them."""

from __future__ import annotations

import mailbox
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.store import MaildirStore, StoreError
from postier.store.maildir_flags import (
    MAX_ATTEMPTS,
    FlagsRaceError,
    MaildirName,
    MessageNotFoundError,
    change_flags,
    find_message,
    format_name,
    is_seen,
    mark_seen,
    mark_unseen,
    normal_flags,
    parse_name,
    unique_part,
)
from tests.store.helpers import envelope, spool, spy_fsync

UNIQUE = "1795746189.M5P4242Q7R0123456789abcdef.mx.example.org"
REAL_RENAME = os.rename
"""For the other readers of the tests, whose renames are not ours to record."""
ESCAPED = "1795746189.M5P4242Q8R0123456789abcdef.odd\\057host\\072name"
"""A host name with `/` and `:`, written as the convention escapes them."""

# -- names -----------------------------------------------------------------------------

NAMES = [
    # name, unique, info, separator, flags
    (UNIQUE, UNIQUE, None, ":", ""),
    (f"{UNIQUE}:2,", UNIQUE, "2,", ":", ""),
    (f"{UNIQUE}:2,S", UNIQUE, "2,S", ":", "S"),
    (f"{UNIQUE}:2,DFPRST", UNIQUE, "2,DFPRST", ":", "DFPRST"),
    (f"{UNIQUE}:2,FSab", UNIQUE, "2,FSab", ":", "FSab"),
    (f"{UNIQUE}:1,experimental", UNIQUE, "1,experimental", ":", ""),
    (f"{UNIQUE};2,S", UNIQUE, "2,S", ";", "S"),
    (f"{UNIQUE}!2,RS", UNIQUE, "2,RS", "!", "RS"),
    (f"{UNIQUE}!x", f"{UNIQUE}!x", None, ":", ""),
    (f"a;b!2,{UNIQUE}", f"a;b!2,{UNIQUE}", None, ":", ""),
    (f"{ESCAPED}:2,S", ESCAPED, "2,S", ":", "S"),
    (ESCAPED, ESCAPED, None, ":", ""),
    ("weird:2,S:x", "weird", "2,S:x", ":", "S:x"),
]


@pytest.mark.parametrize(("name", "unique", "info", "separator", "flags"), NAMES)
def test_names_are_parsed(
    name: str, unique: str, info: str | None, separator: str, flags: str
) -> None:
    parsed = parse_name(name)
    assert parsed == MaildirName(unique, info, separator)
    assert parsed.flags == flags
    assert unique_part(name) == unique
    assert is_seen(name) is ("S" in flags)


@pytest.mark.parametrize(
    ("flags", "normal"),
    [("", ""), ("S", "S"), ("SF", "FS"), ("TSRPFD", "DFPRST"), ("baSF", "FSab"), ("SSs", "Ss")],
)
def test_flags_are_written_once_each_in_ascii_order(flags: str, normal: str) -> None:
    assert normal_flags(flags) == normal
    assert format_name(UNIQUE, flags) == f"{UNIQUE}:2,{normal}"


@pytest.mark.parametrize("flags", ["1", "/", ":", ";", "!", ",", "S,", "\0", "é"])
def test_only_letters_are_flags(flags: str) -> None:
    with pytest.raises(ValueError, match="flags"):
        normal_flags(flags)


@pytest.mark.parametrize("unique", ["", "a/b", "a:b", "a\0b"])
def test_what_is_no_unique_name_is_refused(unique: str) -> None:
    with pytest.raises(ValueError, match="unique"):
        format_name(unique, "S")
    with pytest.raises(ValueError, match="separator"):
        format_name(UNIQUE, "S", "/")


_UNIQUES = st.text(st.characters(exclude_characters="/:\0"), min_size=1)
_FLAGS = st.text(st.sampled_from("DFPRSTabcz"))


@given(_UNIQUES, _FLAGS, st.sampled_from(":;!"))
def test_a_formatted_name_parses_back(unique: str, flags: str, separator: str) -> None:
    name = format_name(unique, flags, separator)
    parsed = parse_name(name)
    assert parsed.unique == unique
    assert parsed.flags == normal_flags(flags)
    assert parsed.with_flags(flags) == name


# -- renames, read back with Python's mailbox ------------------------------------------


def make_maildir(root: Path, name: str, sub: str = "new") -> Path:
    """A Maildir holding one message, in `sub`/`name`."""
    maildir = root / "Maildir"
    for directory in ("tmp", "new", "cur"):
        (maildir / directory).mkdir(parents=True, exist_ok=True)
    (maildir / sub / name).write_bytes(b"Subject: x\n\nHello.\n")
    return maildir


def files(maildir: Path) -> list[str]:
    """Every message file, as `sub/name`."""
    return sorted(f"{sub}/{name}" for sub in ("new", "cur") for name in os.listdir(maildir / sub))


def python_view(maildir: Path, unique: str) -> tuple[str, str]:
    """What Python's `mailbox` makes of the message: its subdirectory and flags."""
    message = mailbox.Maildir(maildir, factory=None, create=False).get_message(unique)
    return message.get_subdir(), message.get_flags()


CHANGES = [
    # where it is, the change, where it ends
    ("new/U", mark_seen, "cur/U:2,S"),
    ("new/U:2,F", mark_seen, "cur/U:2,FS"),
    ("cur/U:2,", mark_seen, "cur/U:2,S"),
    ("cur/U:2,FRab", mark_seen, "cur/U:2,FRSab"),
    ("cur/U:2,S", mark_seen, "cur/U:2,S"),
    ("cur/U:2,TSF", mark_seen, "cur/U:2,FST"),
    ("cur/U:1,exp", mark_seen, "cur/U:2,S"),
    ("cur/U;2,F", mark_seen, "cur/U;2,FS"),
    ("new/U", mark_unseen, "new/U"),
    ("new/U:2,", mark_unseen, "new/U:2,"),
    ("new/U:2,S", mark_unseen, "cur/U:2,"),
    ("cur/U:2,FS", mark_unseen, "cur/U:2,F"),
    ("cur/U:2,S", mark_unseen, "cur/U:2,"),
    ("cur/U:2,FRSab", mark_unseen, "cur/U:2,FRab"),
    ("cur/U:2,F", mark_unseen, "cur/U:2,F"),
    ("cur/U!2,S", mark_unseen, "cur/U!2,"),
]


@pytest.mark.parametrize(("start", "change", "end"), CHANGES)
@pytest.mark.parametrize("unique", [UNIQUE, ESCAPED])
def test_changes_as_mail_tools_see_them(
    tmp_path: Path, unique: str, start: str, change: Callable[[Path, str], Path], end: str
) -> None:
    sub, name = start.replace("U", unique, 1).split("/")
    maildir = make_maildir(tmp_path, name, sub)
    expected = maildir / end.replace("U", unique, 1)
    assert change(maildir, name) == expected
    assert files(maildir) == [end.replace("U", unique, 1)]
    # Idempotent, and the path given may be the old one or the new one.
    assert change(maildir, name) == expected
    assert change(maildir, f"{expected.parent.name}/{expected.name}") == expected
    if parse_name(expected.name).separator == ":":
        seen = change is mark_seen
        subdir, flags = python_view(maildir, unique)
        assert subdir == expected.parent.name
        assert flags == parse_name(expected.name).flags
        assert ("S" in flags) is seen


def test_a_delivered_message_marked_seen_reads_as_seen_with_python(tmp_path: Path) -> None:
    with MaildirStore(tmp_path, fsync=False) as store, spool(b"Subject: x\r\n\r\nHi\r\n") as data:
        store.deliver(envelope(), data)
    maildir = tmp_path / "destinataire@exemple.fr"
    [key] = mailbox.Maildir(maildir, factory=None, create=False).keys()
    [name] = os.listdir(maildir / "new")
    assert python_view(maildir, key) == ("new", "")
    assert mark_seen(maildir, name) == maildir / "cur" / f"{name}:2,S"
    assert python_view(maildir, key) == ("cur", "S")
    assert mark_unseen(maildir, name).name == f"{name}:2,"
    assert python_view(maildir, key) == ("cur", "")


def test_flags_python_writes_are_kept(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", factory=None)
    message = mailbox.MaildirMessage(b"Subject: x\n\nHi\n")
    message.set_subdir("cur")
    message.set_flags("FR")
    key = box.add(message)
    [name] = os.listdir(tmp_path / "Maildir" / "cur")
    mark_seen(tmp_path / "Maildir", name)
    assert python_view(tmp_path / "Maildir", key) == ("cur", "FRS")
    mark_unseen(tmp_path / "Maildir", name)
    assert python_view(tmp_path / "Maildir", key) == ("cur", "FR")


def test_other_flags_can_be_added_and_removed(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path, f"{UNIQUE}:2,Sa", "cur")
    path = change_flags(maildir, f"{UNIQUE}:2,Sa", add="FR", remove="aR")
    assert path.name == f"{UNIQUE}:2,FS"
    with pytest.raises(ValueError, match="flags"):
        change_flags(maildir, path.name, add="S:")
    assert files(maildir) == [f"cur/{UNIQUE}:2,FS"]


# -- other readers ---------------------------------------------------------------------


def rename_first(
    monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None], times: int = 1
) -> list[tuple[str, str]]:
    """Run `meanwhile` (another reader at work) before each of the next `times` renames;
    the renames tried, recorded."""
    tried: list[tuple[str, str]] = []

    def rename(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        tried.append((os.fspath(source), os.fspath(target)))
        if len(tried) <= times:
            meanwhile()
        REAL_RENAME(source, target)

    monkeypatch.setattr(os, "rename", rename)
    return tried


def test_a_message_moved_by_another_reader_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = make_maildir(tmp_path, UNIQUE)
    listed = UNIQUE  # what this reader saw in new/

    def mutt_replies() -> None:
        REAL_RENAME(maildir / "new" / UNIQUE, maildir / "cur" / f"{UNIQUE}:2,R")

    tried = rename_first(monkeypatch, mutt_replies)
    path = mark_seen(maildir, listed)
    assert path == maildir / "cur" / f"{UNIQUE}:2,RS"
    assert len(tried) == 2  # ours, which failed; ours again, from where mutt moved it
    assert files(maildir) == [f"cur/{UNIQUE}:2,RS"]
    assert python_view(maildir, UNIQUE) == ("cur", "RS")


def test_a_listing_that_is_out_of_date(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path, f"{UNIQUE}:2,F", "cur")
    assert find_message(maildir, UNIQUE) == maildir / "cur" / f"{UNIQUE}:2,F"
    assert mark_seen(maildir, f"new/{UNIQUE}") == maildir / "cur" / f"{UNIQUE}:2,FS"
    assert mark_unseen(maildir, f"cur/{UNIQUE}:2,T") == maildir / "cur" / f"{UNIQUE}:2,F"


def test_the_place_given_is_looked_at_first(tmp_path: Path) -> None:
    # Two files with one unique name break the convention; the one named is the one changed.
    maildir = make_maildir(tmp_path, UNIQUE, "new")
    (maildir / "cur" / UNIQUE).write_bytes(b"the other")
    path = mark_seen(maildir, f"cur/{UNIQUE}")
    assert path == maildir / "cur" / f"{UNIQUE}:2,S"
    assert path.read_bytes() == b"the other"
    assert files(maildir) == [f"cur/{UNIQUE}:2,S", f"new/{UNIQUE}"]


def test_a_reader_that_keeps_moving_it_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = make_maildir(tmp_path, f"{UNIQUE}:2,", "cur")
    flags = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    def another_reader() -> None:
        [current] = os.listdir(maildir / "cur")
        REAL_RENAME(maildir / "cur" / current, maildir / "cur" / f"{UNIQUE}:2,{next(flags)}")

    tried = rename_first(monkeypatch, another_reader, times=MAX_ATTEMPTS)
    with pytest.raises(FlagsRaceError, match="flags unchanged"):
        mark_seen(maildir, f"{UNIQUE}:2,")
    assert len(tried) == MAX_ATTEMPTS
    [left] = files(maildir)
    assert "S" not in parse_name(left).flags


def test_a_message_deleted_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maildir = make_maildir(tmp_path, UNIQUE)
    rename_first(monkeypatch, lambda: os.unlink(maildir / "new" / UNIQUE))
    with pytest.raises(MessageNotFoundError, match="no such message"):
        mark_seen(maildir, UNIQUE)
    with pytest.raises(MessageNotFoundError):
        mark_unseen(maildir, UNIQUE)
    assert isinstance(MessageNotFoundError("x"), StoreError)


def test_a_maildir_without_cur(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path, UNIQUE)
    (maildir / "cur").rmdir()
    with pytest.raises(StoreError, match="cur/"):
        mark_seen(maildir, UNIQUE)
    assert files_in(maildir / "new") == [UNIQUE]


def files_in(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_dot_files_are_not_messages(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path, f".{UNIQUE}", "cur")
    assert find_message(maildir, f".{UNIQUE}") is None
    with pytest.raises(MessageNotFoundError):
        mark_seen(maildir, f"new/.{UNIQUE}:2,")


# -- durability ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "synced"),
    [("new/U", ["cur", "new"]), ("cur/U:2,F", ["cur"]), ("cur/U:2,S", [])],
)
def test_each_directory_a_rename_changed_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str, synced: list[str]
) -> None:
    sub, name = start.replace("U", UNIQUE).split("/")
    maildir = make_maildir(tmp_path, name, sub)
    flushed = spy_fsync(monkeypatch)
    mark_seen(maildir, name)
    assert [Path(path).relative_to(maildir).as_posix() for path in flushed] == synced


def test_no_fsync_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maildir = make_maildir(tmp_path, UNIQUE)
    flushed = spy_fsync(monkeypatch)
    mark_seen(maildir, UNIQUE, fsync=False)
    assert flushed == []


# -- any sequence of changes -----------------------------------------------------------

_STEPS = st.lists(
    st.tuples(st.sampled_from("DFPRSTab"), st.booleans()) | st.sampled_from(["seen", "unseen"]),
    max_size=12,
)


@given(_STEPS, st.sampled_from([f"new/{UNIQUE}", f"cur/{UNIQUE}:2,", f"cur/{UNIQUE}:2,Fa"]))
def test_any_sequence_of_changes_agrees_with_a_model(
    steps: list[tuple[str, bool] | str], start: str
) -> None:
    sub, name = start.split("/")
    model = set(parse_name(name).flags)
    in_new = sub == "new"
    with tempfile.TemporaryDirectory() as root:
        maildir = make_maildir(Path(root), name, sub)
        for step in steps:
            if step == "seen":
                path = mark_seen(maildir, name)
                model.add("S")
            elif step == "unseen":
                path = mark_unseen(maildir, name)
                model.discard("S")
            else:
                flag, add = step
                path = change_flags(maildir, name, **{"add" if add else "remove": flag})
                model = model | {flag} if add else model - {flag}
            in_new = in_new and not model
            name = path.name
            assert path.parent.name == ("new" if in_new else "cur")
            assert parse_name(name).flags == "".join(sorted(model))
            assert files(maildir) == [f"{path.parent.name}/{name}"]
        subdir, flags = python_view(maildir, UNIQUE)
        assert (subdir, flags) == ("new" if in_new else "cur", "".join(sorted(model)))
