"""The commands that use the read side's IDs, search, read state and deletion: `read` with
IDs, `--search`, `--peek` and `--all`, `delete`, `mark`, `reindex`, `inbox`'s unread column."""

from __future__ import annotations

import json
import mailbox
from datetime import timedelta
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat, mailbox_path
from tests.store_read.helpers import WHEN, CliRun, deliver, plain, with_attachments

ALICE = "alice@example.org"
BOB = "bob@example.org"


@pytest.fixture(params=["mbox", "maildir"])
def fmt(request: pytest.FixtureRequest) -> StoreFormat:
    value: StoreFormat = request.param
    return value


@pytest.fixture
def filled(store: Path, fmt: StoreFormat) -> Path:
    deliver(store, fmt, [plain("first", "the first one\n"), with_attachments("second")], [ALICE])
    later = WHEN + timedelta(hours=1)
    deliver(store, fmt, [plain("for bob", "bob's mail\n")], [BOB], when=later)
    return store


def _ids(cli: CliRun, store: Path, *args: str) -> list[dict[str, object]]:
    result = cli("read", *args, "--json", "--store", store)
    assert result.status == 0, result.err
    rows: list[dict[str, object]] = json.loads(result.out)
    return rows


def test_the_table_shows_ids_and_unread(cli: CliRun, filled: Path) -> None:
    result = cli("read", ALICE, "--store", filled)
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"{ALICE}: 2 messages, 2 unread"
    rows = _ids(cli, filled, ALICE)
    assert [row["subject"] for row in rows] == ["first", "second"]  # oldest first
    assert all(row["mailbox"] == ALICE and row["read"] is False for row in rows)
    for row, line in zip(rows, lines[2:], strict=True):
        assert f"  {row['id']}  N  " in line


def test_reading_a_message_marks_it_read_unless_peeking(cli: CliRun, filled: Path) -> None:
    first = _ids(cli, filled, ALICE)[0]
    peek = cli("read", str(first["id"]), "--peek", "--store", filled)
    assert peek.status == 0 and "the first one" in peek.out
    assert _ids(cli, filled, ALICE)[0]["read"] is False
    shown = cli("read", str(first["id"]), "--store", filled)
    assert shown.status == 0 and f"(ID {first['id']})" in shown.out
    assert _ids(cli, filled, ALICE)[0]["read"] is True
    inbox = json.loads(cli("inbox", "--json", "--store", filled).out)
    assert {row["mailbox"]: row["unread"] for row in inbox} == {ALICE: 1, BOB: 1}
    table = cli("inbox", "--store", filled).out.splitlines()
    assert "Unread" in table[0]


def test_read_address_and_number_or_id(cli: CliRun, filled: Path) -> None:
    rows = _ids(cli, filled, ALICE)
    by_number = cli("read", ALICE, "1", "--json", "--peek", "--store", filled)
    by_id = cli("read", ALICE, str(rows[0]["id"]), "--json", "--peek", "--store", filled)
    assert json.loads(by_number.out)["id"] == json.loads(by_id.out)["id"] == rows[0]["id"]
    wrong = cli("read", BOB, str(rows[0]["id"]), "--store", filled)
    assert wrong.status == 1 and "not in" in wrong.err


def test_search_in_one_mailbox_and_in_all(cli: CliRun, filled: Path) -> None:
    every = cli("read", "--search", "has:attachment", "--store", filled)
    assert every.status == 0, every.err
    assert "1 message matching" in every.out and "second" in every.out
    assert [row["subject"] for row in _ids(cli, filled, "--search", "mail")] == ["for bob"]
    mine = _ids(cli, filled, ALICE, "--search=-has:attachment")
    assert [row["subject"] for row in mine] == ["first"]
    none = cli("read", ALICE, "--search", "nothing-like-this", "--store", filled)
    assert none.status == 0 and "No message matches" in none.out
    bad = cli("read", "--search", "bogus:field", "--store", filled)
    assert bad.status == 1 and bad.err.startswith("postier: bad search:")
    assert "Traceback" not in bad.err
    assert [row["subject"] for row in _ids(cli, filled, "--all")] == ["first", "second", "for bob"]


def test_delete_by_id_by_number_and_all(cli: CliRun, filled: Path, fmt: StoreFormat) -> None:
    rows = _ids(cli, filled, ALICE)
    result = cli("delete", str(rows[1]["id"]), "--store", filled)
    assert (result.status, result.out) == (0, "Deleted 1 message.\n")
    assert [row["subject"] for row in _ids(cli, filled, ALICE)] == ["first"]
    assert _subjects(filled, fmt, ALICE) == ["first"]
    assert cli("delete", BOB, "1", "--store", filled).status == 0
    assert _subjects(filled, fmt, BOB) == []
    assert cli("delete", "--all", "--store", filled).out == "Deleted 1 message.\n"
    assert _subjects(filled, fmt, ALICE) == []


def test_delete_refuses_what_does_not_exist(cli: CliRun, filled: Path) -> None:
    rows = _ids(cli, filled, ALICE)
    missing = cli("delete", str(rows[0]["id"]), "mzzzzzzzzzzzzzzzz", "--store", filled)
    assert missing.status == 1 and "no message with ID mzzzzzzzzzzzzzzzz" in missing.err
    assert len(_ids(cli, filled, ALICE)) == 2  # nothing deleted
    beyond = cli("delete", ALICE, "3", "--store", filled)
    assert beyond.status == 1 and "holds 2 messages" in beyond.err
    nobody = cli("delete", "--all", "nobody@example.org", "--store", filled)
    assert nobody.status == 1 and "no mailbox for nobody@example.org" in nobody.err
    assert cli("delete", "--store", filled).status == 2
    assert cli("delete", ALICE, "--store", filled).status == 2


def test_mark_read_and_unread(cli: CliRun, filled: Path, fmt: StoreFormat) -> None:
    rows = _ids(cli, filled, ALICE)
    first = str(rows[0]["id"])
    assert cli("mark", "read", first, "--store", filled).out == "Marked 1 message read.\n"
    again = cli("mark", "read", first, "--store", filled).out
    assert again == "Marked 0 messages read (1 already read).\n"
    if fmt == "maildir":  # an mbox gets its Status: headers when it is next rewritten
        assert _flags(filled, fmt, ALICE)["first"] == "S"
    assert _ids(cli, filled, ALICE)[0]["read"] is True
    assert cli("mark", "unread", ALICE, "1", "--store", filled).status == 0
    assert _ids(cli, filled, ALICE)[0]["read"] is False
    assert _flags(filled, fmt, ALICE)["first"] in ("", "O")
    assert cli("mark", "sideways", first, "--store", filled).status == 2


def test_reindex(cli: CliRun, filled: Path) -> None:
    result = cli("reindex", "--store", filled)
    assert result.status == 0, result.err
    assert result.out.startswith("Indexed 3 messages in 2 mailboxes")
    assert cli("reindex", "--store", filled / "nowhere").status == 1


def _open(store: Path, fmt: StoreFormat, address: str) -> mailbox.Mailbox[mailbox.Message]:
    path = mailbox_path(store, address, fmt)
    return (
        mailbox.mbox(path, create=False) if fmt == "mbox" else mailbox.Maildir(path, create=False)
    )


def _subjects(store: Path, fmt: StoreFormat, address: str) -> list[str]:
    box = _open(store, fmt, address)
    try:
        return [str(message["Subject"]) for message in box]
    finally:
        box.close()


def _flags(store: Path, fmt: StoreFormat, address: str) -> dict[str, str]:
    box = _open(store, fmt, address)
    try:
        return {str(m["Subject"]): m.get_flags() for m in box}  # type: ignore[attr-defined]
    finally:
        box.close()
