"""`/api/v1/messages` and `/api/v1/search`: lists, paging, read state, deletion, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from postier.store.read import Reader
from tests.store_read.helpers import deliver, plain, with_attachments
from tests.web.conftest import ApiFor

ALICE = "alice@example.org"
BOB = "bob@example.org"


def fill(store: Path, fmt: str = "mbox", count: int = 3) -> None:
    messages = [plain(f"Message {n}", f"Body number {n}.\n") for n in range(count)]
    deliver(store, fmt, messages, [ALICE])  # type: ignore[arg-type]


def ids(listing: dict[str, object]) -> list[str]:
    return [item["ID"] for item in listing["messages"]]  # type: ignore[attr-defined, index]


def subjects(listing: dict[str, object]) -> list[str]:
    return [item["Subject"] for item in listing["messages"]]  # type: ignore[attr-defined, index]


def test_lists_newest_first_with_the_envelope(store: Path, fmt: str, api_for: ApiFor) -> None:
    fill(store, fmt)
    reply = api_for(store).get("/api/v1/messages")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert subjects(body) == ["Message 2", "Message 1", "Message 0"]
    assert (body["total"], body["unread"], body["count"], body["start"]) == (3, 3, 3, 0)
    assert (body["messages_count"], body["messages_unread"], body["tags"]) == (3, 3, [])


def test_pages_with_start_and_limit(store: Path, api_for: ApiFor) -> None:
    fill(store, count=5)
    api = api_for(store)
    body = api.get("/api/v1/messages?start=1&limit=2").json()
    assert subjects(body) == ["Message 3", "Message 2"]
    assert (body["total"], body["count"], body["start"]) == (5, 2, 1)
    assert len(api.get("/api/v1/messages?limit=0").json()["messages"]) == 5  # 0: no limit


@pytest.mark.parametrize(
    "query",
    [
        "start=-1",
        "limit=x",
        "start=1.5",
        "limit=",  # empty is no number either (schemathesis found it taken as the default)
        "start=%D9%A1",  # an Arabic-Indic digit
        f"start={2**63}",  # past what SQLite holds: a 500 before (schemathesis)
        f"limit={10**30}",
    ],
)
def test_refuses_paging_that_is_no_whole_number(query: str, store: Path, api_for: ApiFor) -> None:
    fill(store)
    reply = api_for(store).get(f"/api/v1/messages?{query}")
    assert reply.status == 400
    assert "whole number" in reply.json()["Error"]


def test_one_mailbox_with_mailbox(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("To both")], [ALICE, BOB])
    deliver(store, "mbox", [plain("To Bob")], [BOB])
    api = api_for(store)
    assert subjects(api.get(f"/api/v1/messages?mailbox={ALICE}").json()) == ["To both"]
    bob = api.get(f"/api/v1/messages?mailbox={BOB}").json()
    assert sorted(subjects(bob)) == ["To Bob", "To both"]
    assert bob["total"] == 2
    # All mail: one entry per delivery, under the delivery's ID (not a copy's).
    everything = api.get("/api/v1/messages").json()
    assert everything["total"] == 2
    assert sorted(subjects(everything)) == ["To Bob", "To both"]
    copy_ids = set(ids(api.get(f"/api/v1/messages?mailbox={ALICE}").json())) | set(ids(bob))
    assert len(copy_ids) == 3
    assert not set(ids(everything)) & copy_ids
    assert api.get("/api/v1/messages?mailbox=no%20such%20thing").status == 400


def test_search_counts_the_matches_and_the_whole(store: Path, api_for: ApiFor) -> None:
    fill(store, count=3)
    deliver(store, "mbox", [with_attachments("Invoice 7")], [ALICE])
    body = api_for(store).get("/api/v1/search?query=has:attachment").json()
    assert subjects(body) == ["Invoice 7"]
    assert (body["total"], body["messages_count"], body["messages_unread"]) == (4, 1, 1)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/v1/search", "no search query"),
        ("/api/v1/search?query=%20", "no search query"),
        ("/api/v1/search?query=foo:bar", "bad search"),
        ("/api/v1/search?query=%22open", "bad search"),
    ],
)
def test_a_bad_search_is_a_400(path: str, words: str, store: Path, api_for: ApiFor) -> None:
    fill(store)
    reply = api_for(store).get(path)
    assert reply.status == 400
    assert words in reply.json()["Error"]


def read_states(store: Path) -> dict[str, bool]:
    with Reader(store) as reader:
        return {item.subject: item.read for item in reader.messages(limit=None).messages}


def test_marks_ids_read_and_unread(store: Path, fmt: str, api_for: ApiFor) -> None:
    fill(store, fmt)
    api = api_for(store)
    first = ids(api.get("/api/v1/messages").json())[0]
    reply = api.put("/api/v1/messages", json={"IDs": [first], "Read": True})
    assert (reply.status, reply.text) == (200, "ok")
    assert read_states(store) == {"Message 2": True, "Message 1": False, "Message 0": False}
    # Keys in any case, as Go's decoder takes them; Read left out is false.
    assert api.put("/api/v1/messages", json={"ids": [first]}).status == 200
    assert not any(read_states(store).values())


def test_marks_a_search_or_everything(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    assert api.put("/api/v1/messages", json={"Search": "number 1", "Read": True}).status == 200
    assert read_states(store) == {"Message 2": False, "Message 1": True, "Message 0": False}
    assert api.put("/api/v1/messages", json={"IDs": [], "Read": True}).status == 200
    assert all(read_states(store).values())
    assert api.get("/api/v1/messages").json()["unread"] == 0


def test_marks_from_a_form(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    first, second, _ = ids(api.get("/api/v1/messages").json())
    reply = api.put("/api/v1/messages", data=[("ids", first), ("ids", second), ("Read", "True")])
    assert reply.status == 200
    assert read_states(store) == {"Message 2": True, "Message 1": True, "Message 0": False}


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({}, "no body"),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "not JSON"),
        ({"json": ["a"]}, "JSON object"),
        ({"json": {"IDs": "abc"}}, "IDs must be"),
        ({"json": {"IDs": [1]}}, "IDs must be"),
        ({"json": {"Read": "yes"}}, "Read must be"),
        ({"json": {"Search": 3}}, "Search must be"),
        ({"json": {"IDs": ["x"], "Search": "y"}}, "not both"),
        ({"json": {"Search": "foo:bar", "Read": True}}, "bad search"),
        ({"data": {"Read": "perhaps"}}, "Read must be"),
        # Only the words Go's ParseBool reads (schemathesis found `0`, `on`, `` taken).
        ({"data": {"Read": "yes"}}, "Read must be"),
        ({"data": {"Read": ""}}, "Read must be"),
    ],
)
def test_refuses_a_bad_change(
    options: dict[str, object], words: str, store: Path, api_for: ApiFor
) -> None:
    fill(store)
    reply = api_for(store).put("/api/v1/messages", **options)
    assert reply.status == 400
    assert words in reply.json()["Error"]
    assert not any(read_states(store).values())


def test_an_unknown_id_is_a_404_and_changes_nothing(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    first = ids(api.get("/api/v1/messages").json())[0]
    reply = api.put("/api/v1/messages", json={"IDs": [first, "qnosuchmessage2"], "Read": True})
    assert reply.status == 404
    assert "qnosuchmessage2" in reply.json()["Error"]
    assert not any(read_states(store).values())
    assert api.delete("/api/v1/messages", json={"IDs": ["qnosuchmessage2"]}).status == 404
    assert len(read_states(store)) == 3


def test_deletes_ids(store: Path, fmt: str, api_for: ApiFor) -> None:
    fill(store, fmt)
    api = api_for(store)
    first = ids(api.get("/api/v1/messages").json())[0]
    reply = api.delete("/api/v1/messages", json={"IDs": [first]})
    assert (reply.status, reply.text) == (200, "ok")
    assert sorted(read_states(store)) == ["Message 0", "Message 1"]
    assert api.get(f"/api/v1/message/{first}").status == 404
    assert api.get("/api/v1/info").json()["RuntimeStats"]["MessagesDeleted"] == 1


@pytest.mark.parametrize("options", [{}, {"json": {"IDs": []}}, {"json": {}}])
def test_deletes_everything(options: dict[str, object], store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    assert api.delete("/api/v1/messages", **options).status == 200
    assert read_states(store) == {}
    assert api.get("/api/v1/messages").json()["total"] == 0


def test_deletes_a_search(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    assert api.delete("/api/v1/search?query=subject:%22message%201%22").status == 200
    assert sorted(read_states(store)) == ["Message 0", "Message 2"]
    assert api.delete("/api/v1/search").status == 400
    assert api.delete("/api/v1/search?query=bad:field").status == 400
    assert len(read_states(store)) == 2


def test_a_body_over_the_limit_is_a_413(store: Path, api_for: ApiFor) -> None:
    fill(store)
    big = b'{"IDs": ["' + b"a" * (6 * 1024 * 1024) + b'"]}'
    reply = api_for(store).put(
        "/api/v1/messages", data=io.BytesIO(big), headers={"Content-Type": "application/json"}
    )
    assert reply.status == 413
    assert "too large" in reply.json()["Error"]


def test_unknown_paths_and_methods(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    missing = api.get("/api/v1/nothing")
    assert (missing.status, missing.json()) == (404, {"Error": "no such path: /api/v1/nothing"})
    refused = api.request("POST", "/api/v1/messages")
    assert refused.status == 405
    assert refused.json() == {"Error": "POST is not allowed on /api/v1/messages"}
    assert "PUT" in refused.headers["Allow"]


def test_refuses_changes_from_another_origin(store: Path, api_for: ApiFor) -> None:
    fill(store)
    api = api_for(store)
    evil = {"Origin": "http://evil.example"}
    for method in ("PUT", "DELETE"):
        reply = api.request(method, "/api/v1/messages", json={"Read": True}, headers=evil)
        assert reply.status == 403
        assert "another origin" in reply.json()["Error"]
    assert api.request("DELETE", "/api/v1/search?query=a", headers={"Origin": "null"}).status == 403
    assert read_states(store) == {f"Message {n}": False for n in range(3)}
    # Reading is not a change; the server's own origin may change.
    assert api.get("/api/v1/messages", headers=evil).status == 200
    own = {"Origin": str(api.client.make_url("")).rstrip("/")}
    assert api.put("/api/v1/messages", json={"Read": True}, headers=own).status == 200
    assert all(read_states(store).values())
