"""Mailbox names: the examples, and properties over any text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from postier.store import StoreFormat, address_from_name, mailbox_name, mailbox_path
from postier.store.naming import MAX_NAME_BYTES

EXAMPLES = [
    ("destinataire@exemple.fr", "destinataire@exemple.fr"),
    ("A@X.org", "a@x.org"),
    ("a/b@c", "a%2Fb@c"),
    ("..@x", "%2E.@x"),
    ('"../../x"@y', "%22..%2F..%2Fx%22@y"),
    ("../../x@y", "%2E.%2F..%2Fx@y"),
    ("postmaster", "postmaster"),
    ("ü@exämple.de", "ü@exämple.de"),
    ("Ünïcödé@例え.jp", "ünïcödé@例え.jp"),
    ("first.last+tag_x-y@d.org", "first.last+tag_x-y@d.org"),
    (".", "%2E"),
    ("..", "%2E."),
    ("100%@x", "100%25@x"),
    ("~user@x", "%7Euser@x"),
    ("a b@x", "a%20b@x"),
    ("a\\b@x", "a%5Cb@x"),
    ("nul\0@x", "nul%00@x"),
    ("cr\r\n@x", "cr%0D%0A@x"),
    ("a\u2028b@x", "a%E2%80%A8b@x"),  # a line separator: not a letter
    ("a\u0301@x", "a%CC%81@x"),  # a combining accent: not alphanumeric
]


@pytest.mark.parametrize(("address", "name"), EXAMPLES)
def test_examples(address: str, name: str) -> None:
    assert mailbox_name(address) == name
    assert address_from_name(name) == address.lower()


def test_lone_surrogate_is_escaped() -> None:
    assert mailbox_name("\ud800@x") == "%ED%A0%80@x"
    assert address_from_name("%ED%A0%80@x") == "\ud800@x"


def test_same_mailbox_for_both_cases() -> None:
    assert mailbox_name("A@x") == mailbox_name("a@x")


def test_empty_address_has_no_mailbox() -> None:
    with pytest.raises(ValueError, match="empty"):
        mailbox_name("")


@pytest.mark.parametrize("name", ["A@x", "%41@x", "%2f@x", "%2", "x%zz", "%+1", ".x", "", "%FF"])
def test_names_not_made_by_mailbox_name_do_not_map_back(name: str) -> None:
    assert address_from_name(name) is None


def test_long_name_is_shortened_with_a_digest() -> None:
    address = "x" * 300 + "@example.org"
    name = mailbox_name(address)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert re.fullmatch(r"x+~[0-9a-f]{20}", name)
    assert address_from_name(name) is None


def test_shortening_never_cuts_an_escape() -> None:
    for pad in range(4):
        name = mailbox_name("x" * pad + "/" * 150)
        prefix = name.split("~")[0]
        assert re.fullmatch(r"x*(%2F)*", prefix), name


def test_name_at_the_limit_is_kept() -> None:
    address = "x" * MAX_NAME_BYTES
    assert mailbox_name(address) == address
    assert "~" in mailbox_name(address + "x")


# -- properties ----------------------------------------------------------------------

addresses = st.text(min_size=1, max_size=80)
long_addresses = st.text(min_size=60, max_size=300).map(lambda text: text * 4)


def _is_single_component(name: str) -> bool:
    return (
        "/" not in name
        and "\0" not in name
        and name not in {".", ".."}
        and not name.startswith(".")
        and len((name + ".mbox").encode()) <= 255
    )


@given(st.one_of(addresses, long_addresses))
def test_name_is_one_safe_path_component(address: str) -> None:
    name = mailbox_name(address)
    assert _is_single_component(name)


@given(addresses)
def test_name_maps_back_to_the_lower_case_address(address: str) -> None:
    name = mailbox_name(address)
    assume("~" not in name)
    assert address_from_name(name) == address.lower()


@given(st.one_of(addresses, long_addresses), st.one_of(addresses, long_addresses))
def test_distinct_addresses_get_distinct_names(first: str, second: str) -> None:
    assume(first.lower() != second.lower())
    assert mailbox_name(first) != mailbox_name(second)


@given(long_addresses, st.text(min_size=1, max_size=3))
def test_long_addresses_differing_at_the_end_stay_apart(address: str, tail: str) -> None:
    assume(tail.lower() != "")
    assert mailbox_name(address) != mailbox_name(address + tail)


CRAFTED = [
    "../../x@y",
    '"../../x"@y',
    "a/b@c",
    "..@x",
    ".",
    "..",
    "/etc/passwd",
    "\0",
    "x\0/../y",
    "..\\..\\x@y",
    "%2E%2E%2Fx@y",
    "./.mbox",
]


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
@pytest.mark.parametrize("address", CRAFTED)
def test_crafted_addresses_stay_in_the_store(
    tmp_path: Path, address: str, fmt: StoreFormat
) -> None:
    path = mailbox_path(tmp_path, address, fmt)
    assert path.parent == tmp_path
    assert path.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_empty_address_has_no_path(tmp_path: Path, fmt: StoreFormat) -> None:
    with pytest.raises(ValueError, match="empty"):
        mailbox_path(tmp_path, "", fmt)


@given(addresses)
def test_any_address_stays_in_the_store(address: str) -> None:
    store = Path("/srv/postier/store")
    assert mailbox_path(store, address, "mbox").parent == store
    assert mailbox_path(store, address, "maildir").parent == store


def test_paths_per_format(tmp_path: Path) -> None:
    assert mailbox_path(tmp_path, "A@x", "mbox") == tmp_path / "a@x.mbox"
    assert mailbox_path(tmp_path, "A@x", "maildir") == tmp_path / "a@x"


def test_symbolic_link_out_of_the_store_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "evil@x.mbox").symlink_to(tmp_path / "elsewhere.mbox")
    with pytest.raises(ValueError, match="symbolic link"):
        mailbox_path(store, "evil@x", "mbox")
