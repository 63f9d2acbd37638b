"""`/api/v1/info`, `/livez`, `/readyz`, `/api/v1/mailboxes` and `/api/v1/wait`."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from postier import __version__
from tests.store_read.helpers import WHEN, deliver, plain
from tests.web.conftest import ApiFor

ALICE = "alice@example.org"
BOB = "bob@example.org"


def test_info(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("One"), plain("Two")], [ALICE])
    api = api_for(store)
    first = api.get("/api/v1/messages").json()["messages"][0]["ID"]
    api.get(f"/api/v1/message/{first}")
    body = api.get("/api/v1/info").json()
    assert body["Version"] == __version__
    assert body["LatestVersion"] == "disabled"
    assert body["Database"] == str(store / ".postier" / "index.sqlite3")
    assert body["DatabaseSize"] == (store / ".postier" / "index.sqlite3").stat().st_size > 0
    assert (body["Messages"], body["Unread"], body["Tags"]) == (2, 1, {})
    runtime = body["RuntimeStats"]
    assert runtime["Memory"] > 1 << 20
    assert runtime["Uptime"] >= 0
    assert runtime["SMTPAccepted"] == runtime["MessagesDeleted"] == 0


def test_health(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    api = api_for(store)
    assert (api.get("/livez").status, api.get("/readyz").status) == (200, 200)


def test_readyz_is_a_503_when_the_index_cannot_be_read(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    api = api_for(store)
    api.mail.close()  # the threads that read the store are gone
    assert api.get("/livez").status == 200
    reply = api.get("/readyz")
    assert reply.status == 503
    assert "not ready" in reply.json()["Error"]


def test_mailboxes(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("Both")], [ALICE, BOB])
    deliver(store, "mbox", [plain("Bob only")], [BOB], when=WHEN + timedelta(seconds=60))
    body = api_for(store).get("/api/v1/mailboxes").json()
    assert [line["Address"] for line in body] == [BOB, ALICE]
    assert (body[0]["Total"], body[0]["Unread"]) == (2, 2)
    assert (body[1]["Total"], body[1]["Unread"]) == (1, 1)
    assert body[0]["Size"] > body[1]["Size"] > 0
    assert body[0]["Newest"] == "2026-11-27T02:24:09Z"


def test_wait_answers_at_once_when_it_is_there(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("Welcome aboard")], [ALICE])
    started = time.monotonic()
    reply = api_for(store).get("/api/v1/wait?query=subject:welcome&timeout=5")
    assert reply.status == 200
    assert reply.json()["Subject"] == "Welcome aboard"
    assert time.monotonic() - started < 2


def test_wait_answers_when_it_arrives(store: Path, fmt: str, api_for: ApiFor) -> None:
    deliver(store, fmt, [plain("Earlier")], [ALICE])
    api = api_for(store)
    later = threading.Timer(0.5, lambda: deliver(store, fmt, [plain("Your code")], [BOB]))
    started = time.monotonic()
    later.start()
    try:
        reply = api.get(f"/api/v1/wait?query=code&mailbox={BOB}&timeout=10")
    finally:
        later.join()
    assert reply.status == 200
    assert reply.json()["Subject"] == "Your code"
    assert reply.json()["Bcc"] == [{"Name": "", "Address": BOB}]
    assert 0.4 < time.monotonic() - started < 5


def test_wait_times_out_with_a_408(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("Other")], [ALICE])
    started = time.monotonic()
    reply = api_for(store).get("/api/v1/wait?query=never&timeout=0.5")
    assert reply.status == 408
    assert "0.5 s" in reply.json()["Error"]
    assert 0.4 < time.monotonic() - started < 3


@pytest.mark.parametrize(
    "query", ["timeout=-1", "timeout=soon", "timeout=301", "query=bad:field", "timeout=nan"]
)
def test_wait_refuses_what_it_cannot_wait_for(query: str, store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    assert api_for(store).get(f"/api/v1/wait?{query}").status == 400
