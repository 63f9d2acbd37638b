"""The API's entries for a message sent to several recipients: one in all mail (its ID the
delivery's, its `Bcc` every recipient no header names), one in each recipient's mailbox
(its ID the copy's); deleting and marking each acts on what it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from postier.store import is_delivery_id
from postier.store.naming import StoreFormat
from tests.store_read.test_deliveries import (
    ALICE,
    BOB,
    CAROL,
    LAYOUTS,
    RECIPIENTS,
    add_foreign,
    deliver_split,
    stored_copies,
)
from tests.web.conftest import Api, ApiFor

BODY = b"Plans for the week"


def bcc(entry: Mapping[str, Any]) -> list[str]:
    return sorted(pair["Address"] for pair in entry["Bcc"])


def counts(api: Api) -> dict[str, tuple[int, int]]:
    """(total, unread) of all mail ('') and of each recipient's mailbox, as the API says."""
    found = {}
    for box in ("", *RECIPIENTS):
        body = api.get("/api/v1/messages" + (f"?mailbox={box}" if box else "")).json()
        assert body["count"] == body["total"]
        found[box] = (body["total"], body["unread"])
    return found


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_one_entry_in_all_mail_one_per_mailbox(
    store: Path, api_for: ApiFor, layout: Mapping[str, StoreFormat]
) -> None:
    deliver_split(store, layout)
    api = api_for(store)
    (entry,) = api.get("/api/v1/messages").json()["messages"]
    assert is_delivery_id(entry["ID"])
    assert [pair["Address"] for pair in entry["To"]] == ["team@example.org"]
    assert bcc(entry) == sorted(RECIPIENTS)
    copies = {}
    for address in RECIPIENTS:
        (copy,) = api.get(f"/api/v1/messages?mailbox={address}").json()["messages"]
        assert not is_delivery_id(copy["ID"])
        assert bcc(copy) == [address]
        copies[address] = copy["ID"]
    assert len(set(copies.values())) == 3
    # The search lists the delivery once; a mailbox: term the copy there.
    assert [m["ID"] for m in api.get("/api/v1/search?query=plans").json()["messages"]] == [
        entry["ID"]
    ]
    found = api.get(f"/api/v1/search?query=mailbox:{BOB}").json()["messages"]
    assert [m["ID"] for m in found] == [copies[BOB]]
    # The message itself, by either ID.
    message = api.get(f"/api/v1/message/{entry['ID']}").json()
    assert (message["ID"], bcc(message)) == (entry["ID"], sorted(RECIPIENTS))
    assert BODY in api.get(f"/api/v1/message/{entry['ID']}/raw").body
    message = api.get(f"/api/v1/message/{copies[CAROL]}").json()
    assert (message["ID"], bcc(message)) == (copies[CAROL], [CAROL])


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_marking_and_deleting_through_the_api(
    store: Path, api_for: ApiFor, layout: Mapping[str, StoreFormat]
) -> None:
    deliver_split(store, layout)
    api = api_for(store)
    (entry,) = api.get("/api/v1/messages").json()["messages"]
    d_id = entry["ID"]
    copy = {
        address: api.get(f"/api/v1/messages?mailbox={address}").json()["messages"][0]["ID"]
        for address in RECIPIENTS
    }
    one = {ALICE: (1, 1), BOB: (1, 1), CAROL: (1, 1)}
    assert counts(api) == {"": (1, 1), **one}
    # Opening the delivery marks it read: every copy.
    assert api.get(f"/api/v1/message/{d_id}").status == 200
    assert counts(api) == {"": (1, 0), ALICE: (1, 0), BOB: (1, 0), CAROL: (1, 0)}
    # One copy unread: the delivery is unread again, the other mailboxes are not.
    assert api.put("/api/v1/messages", json={"IDs": [copy[BOB]], "Read": False}).status == 200
    assert counts(api) == {"": (1, 1), ALICE: (1, 0), BOB: (1, 1), CAROL: (1, 0)}
    assert api.put("/api/v1/messages", json={"IDs": [d_id], "Read": False}).status == 200
    assert counts(api) == {"": (1, 1), **one}
    # Deleting a copy: the delivery stays, same ID, the others' recipients in its Bcc.
    assert api.delete("/api/v1/messages", json={"IDs": [copy[CAROL]]}).status == 200
    (left,) = api.get("/api/v1/messages").json()["messages"]
    assert (left["ID"], bcc(left)) == (d_id, [ALICE, BOB])
    assert counts(api) == {"": (1, 1), ALICE: (1, 1), BOB: (1, 1), CAROL: (0, 0)}
    assert stored_copies(store, layout, BODY) == {ALICE, BOB}
    # Deleting the delivery: every copy goes; its ID is then a 404.
    assert api.delete("/api/v1/messages", json={"IDs": [d_id]}).status == 200
    assert counts(api) == {"": (0, 0), ALICE: (0, 0), BOB: (0, 0), CAROL: (0, 0)}
    assert stored_copies(store, layout, BODY) == set()
    assert api.get(f"/api/v1/message/{d_id}").status == 404
    assert api.delete("/api/v1/messages", json={"IDs": [d_id]}).status == 404


def test_deleting_a_mailbox_search_deletes_its_copies_only(store: Path, api_for: ApiFor) -> None:
    layout = LAYOUTS["mixed"]
    deliver_split(store, layout)
    api = api_for(store)
    assert api.delete(f"/api/v1/search?query=mailbox:{BOB}").status == 200
    assert stored_copies(store, layout, BODY) == {ALICE, CAROL}
    (entry,) = api.get("/api/v1/messages").json()["messages"]
    assert bcc(entry) == [ALICE, CAROL]
    assert api.delete("/api/v1/search?query=plans").status == 200
    assert stored_copies(store, layout, BODY) == set()


def test_the_entries_of_all_mail_for_changed_copies(store: Path, api_for: ApiFor) -> None:
    deliver_split(store, LAYOUTS["mixed"])
    add_foreign(store, ["Foreign"])
    api = api_for(store)
    reader = api.reader
    copies = [m for box in reader.mailboxes() for m in reader.messages(box.address).messages]
    assert len(copies) == 4
    listed = {(m.id, m.copies, m.read, m.subject) for m in reader.messages().messages}
    assert {(m.id, m.copies, m.read, m.subject) for m in api.mail.entries(copies)} == listed
    assert len(api.mail.entries(copies)) == 2
    reader.delete([c.id for c in copies if c.delivery])
    assert [m.subject for m in api.mail.entries(copies)] == ["Foreign"]


def test_a_page_of_all_mail_costs_the_same_however_many_messages(
    store: Path, api_for: ApiFor
) -> None:
    """What `GET /api/v1/messages` asks of the index for a page of all mail (its rows,
    their counts, each entry's head) goes along indexes: its cost in SQLite's steps
    does not grow with the store, where one query walking every row for each entry of
    the page would cost seconds at 100,000 messages."""

    def steps_of_a_page() -> int:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        api = api_for(store)
        conn = api.reader.db.connection()  # the one this thread's calls use
        api.mail.page(None, "", 0, 10)  # brought up to date first
        conn.set_progress_handler(count, 100)
        try:
            found, _, facts, _ = api.mail.page(None, "", 0, 10)
        finally:
            conn.set_progress_handler(None, 0)
        assert len(found.messages) == 10 and len(facts) == 10
        assert all(is_delivery_id(entry.id) for entry in found.messages)
        return steps[0]

    for n in range(10):
        deliver_split(store, LAYOUTS["mbox"], subject=f"Plans {n}")
    small = steps_of_a_page()
    for n in range(10, 200):
        deliver_split(store, LAYOUTS["mbox"], subject=f"Plans {n}")
    large = steps_of_a_page()
    assert large < 2 * small + 50, (small, large)
