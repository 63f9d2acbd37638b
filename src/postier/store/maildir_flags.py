"""Maildir read state: the info part of a message's file name, and the renames that change it.

A message of a Maildir is a file of `new/` or `cur/` (https://cr.yp.to/proto/maildir.html).
Its name is a unique name, and in `cur/` an info part after a colon: `UNIQUE:2,FLAGS`, the
flags being ASCII letters in ASCII order. The standard ones, as mutt, Dovecot and Python's
`mailbox` read them:

    D draft    F flagged    P passed (forwarded)    R replied    S seen    T trashed

Dovecot writes its keywords as lowercase letters after them (`:2,FSab`); every letter we do
not change is kept as it is. A message in `new/` has not been seen by any mail client; a
client that looks at it moves it to `cur/`, with or without `S`. So marking a message seen
renames `new/U` (or `cur/U:2,F`) to `cur/U:2,S` (`cur/U:2,FS`), and marking it unseen renames
`cur/U:2,FS` to `cur/U:2,F`: it stays in `cur/`, as mutt leaves a message it marks unread.

Some systems cannot put `:` in a file name and use `;` or `!` instead (`U;2,S`): a name with
such an info part keeps its separator, and a name without one gets a colon.

Each change is one `rename` inside the Maildir: atomic, so every reader sees the message under
its old name or its new one, never both nor neither. Another reader (mutt, Dovecot, another
postier process) may rename the same file between our listing and our rename: ours then fails
with ENOENT, the message is looked up again by its unique name, and the change is applied to
the flags it has now (a bounded number of times). A file already under the new name has the
same unique name, so it is this message (another reader half-way through a move by `link`
and `unlink`), and the rename replaces it. The directories are fsync'd after the rename
(`fileio.fsync_dir`), both of them when the file moved from `new/` to `cur/`: a crash must not
bring back the old name beside the new one.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Final

from . import fileio
from .errors import StoreError
from .maildir_layout import CUR, MESSAGE_DIRS, NEW

SEEN: Final = "S"
STANDARD_FLAGS: Final = "DFPRST"
"""The flags of the convention, in ASCII order (`draft` to `trashed`)."""
INFO_SEPARATOR: Final = ":"
"""The convention's separator, written for every name that has none yet."""
FLAGS_PREFIX: Final = "2,"
"""Info of the form `2,FLAGS`; `1,...` is the convention's "experimental" form."""
MAX_ATTEMPTS: Final = 8
"""Renames tried while other readers keep moving the file, before giving up."""

# A colon starts the info part wherever it is: the convention keeps it out of unique names
# (postier writes a host's colon as `\072`). `;` and `!` do appear in unique names written by
# other systems, so they count only when `2,` and letters alone follow them.
_OTHER_SEPARATOR: Final = re.compile(r"[;!](2,[A-Za-z]*)\Z")
_SEPARATORS: Final = frozenset(":;!")
_LETTERS: Final = frozenset(string.ascii_letters)


class MessageNotFoundError(StoreError):
    """No file of the Maildir's `new/` or `cur/` has this unique name: it was deleted."""


class FlagsRaceError(StoreError):
    """Other readers kept renaming the message; its flags were not changed."""


@dataclass(frozen=True, slots=True)
class MaildirName:
    """A message's file name, split: `unique` + `separator` + `info`."""

    unique: str
    """The unique name: the same in `new/` and `cur/`, whatever the flags."""
    info: str | None = None
    """The info part after the separator (`2,FS`), None when the name has none."""
    separator: str = INFO_SEPARATOR

    @property
    def flags(self) -> str:
        """The flags of a `2,` info, as written (`FS`); "" for no info or another form."""
        if self.info is not None and self.info.startswith(FLAGS_PREFIX):
            return self.info[len(FLAGS_PREFIX) :]
        return ""

    @property
    def seen(self) -> bool:
        return SEEN in self.flags

    def with_flags(self, flags: Iterable[str]) -> str:
        """This message's file name with exactly `flags`: another info form (`1,...`) is
        replaced, as Python's `mailbox` and mutt replace it."""
        return format_name(self.unique, flags, self.separator)


def parse_name(name: str) -> MaildirName:
    """Split a message's file name (not a path) into its unique name and its info part."""
    unique, colon, info = name.partition(INFO_SEPARATOR)
    if colon:
        return MaildirName(unique, info)
    match = _OTHER_SEPARATOR.search(name)
    if match is not None:
        return MaildirName(name[: match.start()], match[1], name[match.start()])
    return MaildirName(name)


def unique_part(name: str) -> str:
    """The unique name of a message file: its name without the info part."""
    return parse_name(name).unique


def normal_flags(flags: Iterable[str]) -> str:
    """`flags` once each, in ASCII order (as the convention writes them).

    Raises ValueError for anything but ASCII letters: another character could change what
    the name means (a separator, `/`) or is no flag any mail tool knows.
    """
    chosen = set("".join(flags))
    if not all(char in _LETTERS for char in chosen):
        raise ValueError(f"not Maildir flags (ASCII letters): {''.join(sorted(chosen))!r}")
    return "".join(sorted(chosen))


def format_name(unique: str, flags: Iterable[str], separator: str = INFO_SEPARATOR) -> str:
    """The name in `cur/` of the message `unique` with `flags`: `unique:2,FLAGS`."""
    if not unique or "/" in unique or INFO_SEPARATOR in unique or "\0" in unique:
        raise ValueError(f"not a Maildir unique name: {unique!r}")
    if separator not in _SEPARATORS:
        raise ValueError(f"not a Maildir info separator: {separator!r}")
    return _compose(unique, separator, normal_flags(flags))


def _compose(unique: str, separator: str, flags: str) -> str:
    return f"{unique}{separator}{FLAGS_PREFIX}{flags}"


def is_seen(name: str) -> bool:
    """Whether the message file called `name` is marked seen (`S` in its `2,` flags)."""
    return parse_name(name).seen


def mark_seen(maildir: Path, name: str | PurePath, *, fsync: bool = True) -> Path:
    """Mark a message seen: it moves to `cur/` with `S` added to its flags.

    `name` is its file name in `new/` or `cur/`, bare or as `new/NAME` (`cur/NAME`), which
    is then looked at first. Returns the message's path now. Idempotent. Raises
    MessageNotFoundError when it is gone, FlagsRaceError when others kept moving it.
    """
    return change_flags(maildir, name, add=SEEN, fsync=fsync)


def mark_unseen(maildir: Path, name: str | PurePath, *, fsync: bool = True) -> Path:
    """Mark a message unseen: `S` leaves its flags; a message in `new/` stays there.

    Same arguments, result and errors as `mark_seen`.
    """
    return change_flags(maildir, name, remove=SEEN, fsync=fsync)


def change_flags(
    maildir: Path,
    name: str | PurePath,
    *,
    add: Iterable[str] = "",
    remove: Iterable[str] = "",
    fsync: bool = True,
) -> Path:
    """Add the flags `add` and remove `remove` (`remove` wins), keeping every other flag.

    A message of `new/` that is not seen and whose flags stay as they are stays there; any
    other ends in `cur/` under its `2,` name. Returns the message's path now (the same
    when there was nothing to do).
    """
    adding, removing = normal_flags(add), normal_flags(remove)
    given = PurePath(name)
    unique = unique_part(given.name)
    where = _first_look(maildir, given)
    for _ in range(MAX_ATTEMPTS):
        if where is None:
            where = find_message(maildir, unique)
            if where is None:
                raise MessageNotFoundError(f"{unique}: no such message in {maildir}")
        current = parse_name(where.name)
        # The flags it has are kept as they are, even characters no tool should have written.
        flags = "".join(sorted((set(current.flags) | set(adding)) - set(removing)))
        if flags == current.flags and where.parent.name == NEW and SEEN not in flags:
            return where  # unseen and unchanged: `new/` is where it belongs
        target = maildir / CUR / _compose(unique, current.separator, flags)
        if where == target:
            return target
        try:
            os.rename(where, target)
        except FileNotFoundError:
            if os.path.lexists(where):  # the message is there: `cur/` is not
                raise StoreError(f"{maildir} has no cur/ directory") from None
            where = None  # renamed or deleted by someone else meanwhile: look again
            continue
        if fsync:
            _sync_dirs(where.parent, target.parent)
        return target
    raise FlagsRaceError(f"{unique}: renamed by others {MAX_ATTEMPTS} times; flags unchanged")


def find_message(maildir: Path, unique: str) -> Path | None:
    """The file of `new/` or `cur/` whose unique name is `unique`, or None."""
    for sub in reversed(MESSAGE_DIRS):  # most messages of an old Maildir are in cur/
        try:
            entries = os.scandir(maildir / sub)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.startswith(".") and unique_part(entry.name) == unique:
                    return Path(entry.path)
    return None


def _first_look(maildir: Path, given: PurePath) -> Path | None:
    """Where the message most likely is: the place given, else `new/` then `cur/` under the
    same name. Only a path that exists is returned; None sends the caller to `find_message`.
    """
    hint = given.parent.name
    subs = [hint] if hint in MESSAGE_DIRS else []
    subs += [sub for sub in MESSAGE_DIRS if sub != hint]
    for sub in subs:
        path = maildir / sub / given.name
        if os.path.lexists(path):
            return path
    return None


def _sync_dirs(source: Path, target: Path) -> None:
    """Make a rename durable: its new entry, then (in another directory) its old one's removal."""
    fileio.fsync_dir(target)
    if source != target:
        fileio.fsync_dir(source)
