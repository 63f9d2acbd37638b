"""All mail lists a delivery once, under its delivery ID; each mailbox lists its copy under
the copy's ID; marking or deleting the delivery's ID acts on every copy, a copy's ID on
that copy. In mbox, in Maildir, and with one delivery's copies in both formats."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from postier.store import MaildirStore, MboxStore, Spool, is_delivery_id, is_message_id
from postier.store.identity import delivery_id
from postier.store.naming import StoreFormat, mailbox_path
from postier.store.read import NoSuchMessage, Reader
from postier.store.read.mbox_compact import compact
from tests.store_read.helpers import (
    CliRun,
    deliver,
    envelope,
    mbox_bytes,
    plain,
    wire_bytes,
)

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
DAVE = "dave@example.org"
RECIPIENTS = (ALICE, BOB, CAROL)

LAYOUTS: dict[str, Mapping[str, StoreFormat]] = {
    "mbox": {ALICE: "mbox", BOB: "mbox", CAROL: "mbox"},
    "maildir": {ALICE: "maildir", BOB: "maildir", CAROL: "maildir"},
    "mixed": {ALICE: "mbox", BOB: "maildir", CAROL: "mbox"},
}
"""Where each recipient's copy of one delivery is filed."""


def deliver_split(
    store: Path, layout: Mapping[str, StoreFormat], subject: str = "To the team"
) -> str:
    """File one delivery (one queue id) to every recipient of `layout`, each in its format,
    as the server does; returns the queue id."""
    message = plain(subject, "Plans for the week.\n", to="team@example.org")
    whole = envelope(list(layout))
    for fmt in ("mbox", "maildir"):
        recipients = tuple(address for address, wanted in layout.items() if wanted == fmt)
        if not recipients:
            continue
        backend = (MboxStore if fmt == "mbox" else MaildirStore)(store, fsync=False)
        spool = Spool()
        try:
            spool.write(wire_bytes(message))
            backend.deliver(dataclasses.replace(whole, recipients=recipients), spool)
        finally:
            spool.close()
            backend.close()
    return whole.queue_id


def add_foreign(store: Path, subjects: Sequence[str]) -> None:
    """Dave's mbox, written by another program: no postier `Received:`."""
    store.mkdir(parents=True, exist_ok=True)
    messages = [bytes(plain(s, f"{s} text\n", message_id=f"<{s}@x>")) for s in subjects]
    mailbox_path(store, DAVE, "mbox").write_bytes(mbox_bytes(messages))


def counts(reader: Reader) -> dict[str, tuple[int, int]]:
    """(total, unread) of all mail (key '') and of every mailbox that has a file."""
    found = {"": _pair(reader, None)}
    for box in reader.mailboxes():
        found[box.address] = _pair(reader, box.address)
    return found


def _pair(reader: Reader, mailbox: str | None) -> tuple[int, int]:
    page = reader.messages(mailbox, limit=None)
    assert len(page.messages) == page.total
    return page.total, page.unread


def stored_copies(store: Path, layout: Mapping[str, StoreFormat], subject: bytes) -> set[str]:
    """The recipients whose mailbox file still holds a message with `subject`."""
    held = set()
    for address, fmt in layout.items():
        path = mailbox_path(store, address, fmt)
        if fmt == "mbox":
            found = path.exists() and subject in path.read_bytes()
        else:
            found = any(
                subject in file.read_bytes()
                for sub in ("new", "cur") if (path / sub).is_dir()
                for file in (path / sub).iterdir()
            )  # fmt: skip
        if found:
            held.add(address)
    return held


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_one_delivery_is_one_entry_of_all_mail_and_one_copy_per_mailbox(
    store: Path, layout: Mapping[str, StoreFormat]
) -> None:
    queue_id = deliver_split(store, layout)
    add_foreign(store, ["Foreign one", "Foreign two"])
    with Reader(store, fsync=False) as reader:
        every = reader.messages()
        (entry,) = [item for item in every.messages if item.subject == "To the team"]
        assert entry.id == delivery_id(queue_id.encode()) == entry.delivery
        assert is_delivery_id(entry.id) and is_message_id(entry.id)
        assert sorted(entry.copies) == sorted(RECIPIENTS)
        foreign = [item for item in every.messages if item.subject.startswith("Foreign")]
        assert len(foreign) == 2
        assert all(item.delivery == "" and not is_delivery_id(item.id) for item in foreign)
        assert [item.id for item in foreign] == [item.id for item in reader.messages(DAVE).messages]
        copies = {address: reader.messages(address).messages for address in RECIPIENTS}
        assert all(len(listed) == 1 for listed in copies.values())
        ids = {listed[0].id for listed in copies.values()}
        assert len(ids) == 3 and entry.id not in ids
        assert all(not is_delivery_id(id_) for id_ in ids)
        assert all(listed[0].copies == (address,) for address, listed in copies.items())
        assert all(listed[0].delivery == entry.id for listed in copies.values())
        assert counts(reader) == {"": (3, 3), ALICE: (1, 1), BOB: (1, 1), CAROL: (1, 1),
                                  DAVE: (2, 2)}  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_marking_and_deleting_a_delivery_and_its_copies(
    store: Path, layout: Mapping[str, StoreFormat]
) -> None:
    deliver_split(store, layout)
    add_foreign(store, ["Foreign"])
    with Reader(store, fsync=False) as reader:
        (entry,) = reader.messages(query="plans").messages
        d_id = entry.id
        copy = {address: reader.messages(address).messages[0].id for address in RECIPIENTS}
        steps: list[tuple[str, object, dict[str, tuple[int, int]]]] = [
            ("start", None, {"": (2, 2), ALICE: (1, 1), BOB: (1, 1), CAROL: (1, 1), DAVE: (1, 1)}),
            ("read", [d_id], {"": (2, 1), ALICE: (1, 0), BOB: (1, 0), CAROL: (1, 0), DAVE: (1, 1)}),
            ("unread", [copy[BOB]],
             {"": (2, 2), ALICE: (1, 0), BOB: (1, 1), CAROL: (1, 0), DAVE: (1, 1)}),
            ("read", [copy[BOB]],
             {"": (2, 1), ALICE: (1, 0), BOB: (1, 0), CAROL: (1, 0), DAVE: (1, 1)}),
            ("delete", [copy[CAROL]],
             {"": (2, 1), ALICE: (1, 0), BOB: (1, 0), CAROL: (0, 0), DAVE: (1, 1)}),
            ("delete", [d_id],
             {"": (1, 1), ALICE: (0, 0), BOB: (0, 0), CAROL: (0, 0), DAVE: (1, 1)}),
        ]  # fmt: skip
        for action, ids, expected in steps:
            if action in ("read", "unread"):
                assert isinstance(ids, list)
                assert reader.mark(ids, read=action == "read") == ids
            elif action == "delete":
                assert isinstance(ids, list)
                assert reader.delete(ids) == ids
            assert counts(reader) == expected, action
            if action == "read" and ids == [d_id]:
                # Every copy is marked, in its format's own way.
                assert _read_in_files(store, layout) == set(RECIPIENTS)
            if ids == [copy[CAROL]]:
                # The delivery is still listed, under the same ID, with two copies.
                (left,) = reader.messages(query="plans").messages
                assert (left.id, sorted(left.copies)) == (d_id, [ALICE, BOB])
                assert stored_copies(store, layout, b"Plans for the week") == {ALICE, BOB}
        assert stored_copies(store, layout, b"Plans for the week") == set()
        with pytest.raises(NoSuchMessage):
            reader.locate(d_id)
        with pytest.raises(NoSuchMessage):
            reader.delete([d_id])


def _read_in_files(store: Path, layout: Mapping[str, StoreFormat]) -> set[str]:
    """The recipients whose copy the files say is read: a Maildir's `S` flag, an mbox's
    `Status: RO` once compacted (the read state is in the change log until then)."""
    read = set()
    for address, fmt in layout.items():
        path = mailbox_path(store, address, fmt)
        if fmt == "maildir":
            names = (
                [file.name for file in (path / "cur").iterdir()] if (path / "cur").is_dir() else []
            )
            if any(name.endswith(":2,S") for name in names):
                read.add(address)
        else:
            compact(store, path.name, fsync=False)
            if b"\nStatus: RO\n" in path.read_bytes():
                read.add(address)
    return read


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_delivery_id_opens_its_lead_copy_until_none_is_left(
    store: Path, layout: Mapping[str, StoreFormat]
) -> None:
    deliver_split(store, layout)
    with Reader(store, fsync=False) as reader:
        (entry,) = reader.messages().messages
        lead = reader.locate(entry.id)
        assert lead.summary.id == entry.id and lead.summary.read is False
        assert sorted(lead.summary.copies) == sorted(RECIPIENTS)
        assert b"Plans for the week" in reader.read_bytes(entry.id)
        assert reader.view(entry.id).subject == "To the team"
        copies = reader.copies(entry.id)
        assert sorted(c.summary.mailbox for c in copies) == sorted(RECIPIENTS)
        assert lead.summary.mailbox == copies[0].summary.mailbox
        # The lead goes: the next copy leads, under the same ID.
        reader.delete([copies[0].id])
        assert reader.locate(entry.id).summary.mailbox == copies[1].summary.mailbox
        assert reader.message(entry.id).summary.number == 1
        reader.delete([c.id for c in copies[1:]])
        for call in (reader.locate, reader.message, reader.copies):
            with pytest.raises(NoSuchMessage):
                call(entry.id)


def test_mixed_lists_of_delivery_and_copy_ids(store: Path) -> None:
    deliver_split(store, LAYOUTS["mixed"], "First")
    deliver_split(store, LAYOUTS["mixed"], "Second")
    with Reader(store, fsync=False) as reader:
        first, second = sorted(reader.messages().messages, key=lambda item: item.subject)
        bob_second = reader.messages(BOB, query="subject:second").messages[0].id
        # The copy named twice (by its ID and in its delivery) is marked once.
        changed = reader.mark([first.id, bob_second, first.id], read=True)
        assert changed == [first.id, bob_second]
        assert counts(reader)[""] == (2, 1)
        assert counts(reader)[BOB] == (2, 0)
        assert reader.mark([first.id], read=True) == []
        assert reader.delete([bob_second, first.id]) == [bob_second, first.id]
        assert [(i.id, sorted(i.copies)) for i in reader.messages().messages] == [
            (second.id, [ALICE, CAROL])
        ]
        with pytest.raises(NoSuchMessage):  # nothing changes when one names nothing
            reader.delete([second.id, first.id])
        assert reader.messages().total == 1


def test_searches_in_all_mail_list_deliveries_and_mailbox_terms_list_copies(
    store: Path,
) -> None:
    deliver_split(store, LAYOUTS["mixed"])
    add_foreign(store, ["Foreign"])
    with Reader(store, fsync=False) as reader:
        (entry,) = reader.messages(query="plans").messages
        bob_copy = reader.messages(BOB).messages[0].id
        reader.mark([entry.id], read=True)
        reader.mark([bob_copy], read=False)

        def found(query: str) -> tuple[list[str], int, int]:
            page = reader.messages(query=query, limit=None)
            return [item.id for item in page.messages], page.total, page.unread

        # Content terms: the delivery once, as all mail lists it (unread: bob's copy is).
        assert found("plans") == ([entry.id], 1, 1)
        assert found("to:team") == ([entry.id], 1, 1)
        # Read state: the delivery's (unread while any copy is).
        assert found("is:unread subject:team") == ([entry.id], 1, 1)
        assert found("is:read subject:team") == ([], 0, 0)
        assert found("-is:unread subject:team") == ([], 0, 0)
        # A mailbox: term asks about copies: the copy there, under its own ID.
        assert found(f"mailbox:{BOB}") == ([bob_copy], 1, 1)
        alice_copy = reader.messages(ALICE).messages[0].id
        assert found(f"mailbox:{ALICE} plans") == ([alice_copy], 1, 0)
        assert sorted(found(f"-mailbox:{DAVE} plans")[0]) == sorted(
            item.id for address in RECIPIENTS for item in reader.messages(address).messages
        )
        # Deleting what a mailbox: search found deletes that copy only.
        reader.delete(found(f"mailbox:{BOB}")[0])
        assert found("plans")[0] == [entry.id]
        assert counts(reader)[""] == (2, 1)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_an_index_rebuilt_from_scratch_gives_the_same_ids(
    store: Path, layout: Mapping[str, StoreFormat]
) -> None:
    deliver_split(store, layout, "One")
    deliver_split(store, layout, "Two")
    add_foreign(store, ["Foreign one", "Foreign two"])
    deliver(store, "mbox", [plain("Alone")], [ALICE])

    def listed() -> dict[str, list[tuple[str, tuple[str, ...], bool]]]:
        with Reader(store, fsync=False) as reader:
            reader.mark([reader.messages(query="subject:one").messages[0].id], read=True)
            pages = {box: reader.messages(box or None) for box in ["", ALICE, BOB, CAROL, DAVE]}
            return {
                box: [(i.id, tuple(sorted(i.copies)), i.read) for i in page.messages]
                for box, page in pages.items()
            }

    before = listed()
    assert len(before[""]) == 5
    # The index goes (not the mbox change log, which holds read state until a compaction).
    for path in (store / ".postier").glob("index.sqlite3*"):
        path.unlink()
    assert listed() == before
    with Reader(store, fsync=False) as reader:
        reader.reindex()
        assert reader.messages().total == 5
        assert [i.id for i in reader.messages().messages] == [i for i, _, _ in before[""]]


def test_the_cli_takes_a_delivery_id_wherever_it_takes_an_id(store: Path, cli: CliRun) -> None:
    layout = LAYOUTS["mixed"]
    deliver_split(store, layout)
    (entry,) = json.loads(cli("read", "--all", "--json", "--store", store).out)
    d_id = entry["id"]
    assert is_delivery_id(d_id) and sorted(entry["mailboxes"]) == sorted(RECIPIENTS)
    bob = json.loads(cli("read", BOB, "--json", "--store", store).out)
    assert [item["mailboxes"] for item in bob] == [[BOB]]
    assert bob[0]["id"] != d_id
    # `read ADDRESS ID` with the delivery's ID: the copy in ADDRESS.
    shown = json.loads(cli("read", CAROL, d_id, "--json", "--peek", "--store", store).out)
    assert (shown["mailbox"], shown["mailboxes"], shown["index"]) == (CAROL, [CAROL], 1)
    assert cli("read", DAVE, d_id, "--store", store).status == 1
    result = cli("read", d_id, "--json", "--peek", "--store", store)
    assert json.loads(result.out)["id"] == d_id
    assert cli("mark", "read", d_id, "--store", store).out == "Marked 1 message read.\n"
    with Reader(store, fsync=False) as reader:
        assert [box.unread for box in reader.mailboxes()] == [0, 0, 0]
    result = cli("mark", "unread", d_id, bob[0]["id"], "--store", store)
    assert result.out == "Marked 2 messages unread.\n"
    assert cli("delete", bob[0]["id"], "--store", store).out == "Deleted 1 message.\n"
    assert stored_copies(store, layout, b"Plans for the week") == {ALICE, CAROL}
    assert cli("delete", d_id, "--store", store).out == "Deleted 1 message.\n"
    assert stored_copies(store, layout, b"Plans for the week") == set()
    assert cli("read", d_id, "--store", store).status == 1
