"""The OpenAPI document: served, every route of the application in it and nothing else,
each answer the application gives of the shape it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import jsonschema_rs

from postier.store.read import MailboxSummary
from postier.web import Mail, WebContext, build_app
from postier.web.openapi import OPENAPI_PATH, document
from postier.web.shapes import mailbox
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import ApiFor
from tests.web.messages import rich

ALICE = "alice@example.org"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def routed() -> set[tuple[str, str]]:
    """(method, path) of every route the application has, as aiohttp names its paths
    (only the routes are looked at: its context reads nothing)."""
    app = build_app(WebContext(cast(Mail, None)))
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        found.add((route.method.lower(), str(path)))
    return found


def documented() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document()["paths"].items()
        for method in METHODS
        if method in item
    }


def test_every_route_is_documented_and_nothing_else() -> None:
    assert routed() == documented()


def test_served(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    reply = api_for(store).get(OPENAPI_PATH)
    assert reply.status == 200
    assert reply.json() == document()
    assert reply.json()["openapi"].startswith("3.")


def schema_of(name: str) -> Any:
    """A validator of the component `name`, its references resolved in the document."""
    whole = document()
    own = whole["components"]["schemas"][name]
    return jsonschema_rs.validator_for({**own, "components": whole["components"]})


def test_answers_fit_their_schemas(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("First"), rich("Second")], [ALICE])
    api = api_for(store)
    listing = api.get("/api/v1/messages").json()
    schema_of("MessagesSummary").validate(listing)
    id_ = listing["messages"][0]["ID"]
    schema_of("Message").validate(api.get(f"/api/v1/message/{id_}").json())
    schema_of("Headers").validate(api.get(f"/api/v1/message/{id_}/headers").json())
    schema_of("AppInformation").validate(api.get("/api/v1/info").json())
    for line in api.get("/api/v1/mailboxes").json():
        schema_of("Mailbox").validate(line)
    schema_of("Error").validate(api.get("/api/v1/message/nosuch").json())


def test_a_mailbox_without_mail_has_no_newest() -> None:
    empty = mailbox(MailboxSummary(address=ALICE, count=0, unread=0, size=0, newest=None))
    schema_of("Mailbox").validate(empty)
    assert not schema_of("Mailbox").is_valid({**empty, "Newest": 3})
    assert schema_of("Mailbox").is_valid({**empty, "Newest": "2026-11-27T02:23:09Z"})


def test_the_schemas_refuse_a_field_they_do_not_describe() -> None:
    assert not schema_of("Address").is_valid({"Name": "", "Address": "a@b", "Extra": 1})
    assert not schema_of("Address").is_valid({"Name": ""})
