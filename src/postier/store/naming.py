"""Turns a recipient address into a mailbox file name: the only place that does.

A name is the address in lower case. ASCII letters, digits and `@ . _ + -` stay as they
are, and so do non-ASCII letters and digits (SMTPUTF8 addresses, RFC 6531, keep their
Unicode). Every other character is percent-encoded as UTF-8 (`/` -> `%2F`), `%` included,
so the encoding can be reversed. A leading `.` is encoded too: no name is hidden, and
`.` and `..` cannot occur. A name longer than `MAX_NAME_BYTES` keeps a prefix and ends in
`~` + a SHA-256 digest; `~` is encoded everywhere else, so a shortened name never equals a
plain one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import string
from pathlib import Path
from typing import Final, Literal

StoreFormat = Literal["mbox", "maildir"]
"""The two layouts of a store directory."""

MBOX_SUFFIX: Final = ".mbox"
MAX_NAME_BYTES: Final = 200
"""Well under the 255-byte limit of common file systems, with room for `.mbox`."""
NAME_CACHE_SIZE: Final = 4096
"""Addresses whose names are remembered: a server delivers to the same few again and again."""

_DIGEST_CHARS: Final = 20
_SHORT_MARK: Final = "~"
_PREFIX_BYTES: Final = MAX_NAME_BYTES - len(_SHORT_MARK) - _DIGEST_CHARS
# Applied after lower-casing, so no upper-case letter is left to keep.
_ASCII_KEPT: Final = frozenset(string.ascii_lowercase + string.digits + "@._+-")


def _kept(char: str) -> bool:
    if char < "\x80":
        return char in _ASCII_KEPT
    return char.isalnum()


def _units(address: str) -> list[str]:
    """The encoded name as a list of units: one kept character or one `%XX` each."""
    units: list[str] = []
    for index, char in enumerate(address.lower()):
        if _kept(char) and not (index == 0 and char == "."):
            units.append(char)
        else:
            # surrogatepass: a lone surrogate is escaped like any other character, so
            # every text has a name and the file name itself stays valid UTF-8.
            units.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return units


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def mailbox_name(address: str) -> str:
    """The file name of `address`'s mailbox (without the `.mbox` suffix).

    Raises ValueError for the empty address, which has no mailbox.
    """
    if not address:
        raise ValueError("the empty address has no mailbox")
    units = _units(address)
    name = "".join(units)
    encoded = name.encode("utf-8")
    if len(encoded) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:_DIGEST_CHARS]
    prefix: list[str] = []
    size = 0
    for unit in units:
        size += len(unit.encode("utf-8"))
        if size > _PREFIX_BYTES:
            break
        prefix.append(unit)
    return "".join(prefix) + _SHORT_MARK + digest


def address_from_name(name: str) -> str | None:
    """The (lower-case) address whose mailbox is called `name`.

    None when `name` was shortened (the digest cannot be reversed) or was not made by
    `mailbox_name` at all (a stray file in the store).
    """
    if not name or _SHORT_MARK in name:
        return None
    raw = bytearray()
    index = 0
    while index < len(name):
        char = name[index]
        if char == "%":
            try:
                raw.append(int(name[index + 1 : index + 3], 16))
            except ValueError:
                return None
            index += 3
        else:
            raw += char.encode("utf-8")
            index += 1
    try:
        address = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    # Only canonical names map back: `%41` or `A` would also decode, to a different name.
    if not address or mailbox_name(address) != name:
        return None
    return address


def mailbox_file_name(address: str, fmt: StoreFormat) -> str:
    """The directory entry of `address`'s mailbox in a store of format `fmt`."""
    name = mailbox_name(address)
    return name + MBOX_SUFFIX if fmt == "mbox" else name


def mailbox_file_names(address: str) -> dict[StoreFormat, str]:
    """The entry `address`'s mailbox has in a store of each format (a reader of a store
    of either looks for both); empty when no name can be made of it."""
    try:
        name = mailbox_name(address)
    except ValueError:
        return {}
    return {"mbox": name + MBOX_SUFFIX, "maildir": name}


def mailbox_path(store_dir: Path, address: str, fmt: StoreFormat) -> Path:
    """Where `address`'s mailbox lives: always an entry directly inside `store_dir`.

    Raises ValueError when the path would leave the store. By construction of the name it
    cannot; this checks it again. A single component that is neither `.` nor `..` resolves
    into `store_dir` unless it is a symbolic link, so a link is refused (one `lstat`, where
    resolving both paths would cost one per component on every delivery).
    """
    entry = mailbox_file_name(address, fmt)
    if os.sep in entry or "\0" in entry or entry in {"", ".", ".."} or entry.startswith("."):
        raise ValueError(f"unsafe mailbox name {entry!r}")
    path = store_dir / entry
    if path.is_symlink():
        raise ValueError(f"mailbox {entry!r} is a symbolic link and could leave the store")
    return path
