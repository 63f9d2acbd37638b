"""The JSON of every endpoint against Mailpit's structs (field names and JSON types, from
`internal/storage/structs.go`, `server/apiv1/messages.go`, `internal/stats/stats.go`),
and the pure pieces behind them: times, addresses, header names, part numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from postier.web import headers, parts, shapes
from tests.store_read.helpers import deliver, wire_bytes
from tests.web.conftest import ApiFor
from tests.web.messages import rich

ADDRESS = {"Name": str, "Address": str}
ADDRESSES = [ADDRESS]
ATTACHMENT = {
    "PartID": str,
    "FileName": str,
    "ContentType": str,
    "ContentID": str,
    "Size": int,
    "Checksums": {"MD5": str, "SHA1": str, "SHA256": str},
}
SUMMARY = {
    "ID": str,
    "MessageID": str,
    "Read": bool,
    "From": ADDRESS,
    "To": ADDRESSES,
    "Cc": ADDRESSES,
    "Bcc": ADDRESSES,
    "ReplyTo": ADDRESSES,
    "Subject": str,
    "Created": str,
    "Username": str,
    "Tags": [str],
    "Size": int,
    "Attachments": int,
    "Snippet": str,
}
MESSAGES_SUMMARY = {
    "total": int,
    "unread": int,
    "count": int,
    "messages_count": int,
    "messages_unread": int,
    "start": int,
    "tags": [str],
    "messages": [SUMMARY],
}
MESSAGE = {
    "ID": str,
    "MessageID": str,
    "Read": bool,  # Mailpit's until 1.9; the PyPI client requires it
    "From": ADDRESS,
    "To": ADDRESSES,
    "Cc": ADDRESSES,
    "Bcc": ADDRESSES,
    "ReplyTo": ADDRESSES,
    "ReturnPath": str,
    "Subject": str,
    "ListUnsubscribe": {"Header": str, "Links": [str], "Errors": str, "HeaderPost": str},
    "Date": str,
    "Tags": [str],
    "Username": str,
    "Text": str,
    "HTML": str,
    "Size": int,
    "Inline": [ATTACHMENT],
    "Attachments": [ATTACHMENT],
}
APP_INFORMATION = {
    "Version": str,
    "LatestVersion": str,
    "Database": str,
    "DatabaseSize": int,
    "Messages": int,
    "Unread": int,
    "Tags": {},
    "RuntimeStats": {
        "Uptime": int,
        "Memory": int,
        "MessagesDeleted": int,
        "SMTPAccepted": int,
        "SMTPAcceptedSize": int,
        "SMTPRejected": int,
        "SMTPIgnored": int,
    },
}
MAILBOX = {"Address": str, "Total": int, "Unread": int, "Size": int, "Newest": str}


def conforms(value: Any, shape: Any, where: str = "") -> None:
    """`value` has exactly `shape`'s keys, each of its type (lists: each item; `{}`: a
    map); bool is not taken for an int."""
    if isinstance(shape, dict) and shape:
        assert isinstance(value, dict), where
        assert sorted(value) == sorted(shape), where
        for key, inner in shape.items():
            conforms(value[key], inner, f"{where}.{key}")
    elif isinstance(shape, dict):
        assert isinstance(value, dict), where
    elif isinstance(shape, list):
        assert isinstance(value, list), where
        for number, item in enumerate(value):
            conforms(item, shape[0], f"{where}[{number}]")
    else:
        assert type(value) is shape, f"{where}: {value!r} is no {shape.__name__}"


def test_every_endpoint_has_mailpits_shape(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [rich()], ["alice@example.org", "erin@example.org"])
    api = api_for(store)
    listing = api.get("/api/v1/messages").json()
    conforms(listing, MESSAGES_SUMMARY, "messages")
    assert len(listing["messages"]) == 1  # one delivery to two recipients
    conforms(api.get("/api/v1/search?query=rich").json(), MESSAGES_SUMMARY, "search")
    first = listing["messages"][0]["ID"]
    message = api.get(f"/api/v1/message/{first}").json()
    conforms(message, MESSAGE, "message")
    assert message["Inline"] and message["Attachments"] and message["To"]
    conforms(api.get("/api/v1/info").json(), APP_INFORMATION, "info")
    conforms(api.get("/api/v1/mailboxes").json(), [MAILBOX], "mailboxes")
    conforms(api.get("/api/v1/wait?timeout=1").json(), SUMMARY, "wait")
    heads = api.get(f"/api/v1/message/{first}/headers").json()
    conforms(heads, {}, "headers")
    assert all(conforms(values, [str]) is None for values in heads.values())


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 27, 2, 23, 9, tzinfo=UTC), "2026-11-27T02:23:09Z"),
        (datetime(2026, 11, 27, 2, 23, 9, 500000, tzinfo=UTC), "2026-11-27T02:23:09.5Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC), "2026-01-02T03:04:05.00012Z"),
        (
            datetime(2026, 11, 27, 3, 23, 9, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-27T03:23:09+01:00",
        ),
    ],
)
def test_times_as_go_writes_them(moment: datetime, text: str) -> None:
    assert shapes.rfc3339(moment) == text
    assert datetime.fromisoformat(text) == moment


@pytest.mark.parametrize(
    ("shown", "pair"),
    [
        ("Bob <bob@example.org>", ("Bob", "bob@example.org")),
        ('"Doe, Jane" <jane@example.org>', ("Doe, Jane", "jane@example.org")),
        ("carol@example.org", ("", "carol@example.org")),
    ],
)
def test_addresses_from_the_index(shown: str, pair: tuple[str, str]) -> None:
    assert shapes.shown_pair(shown) == pair


def test_the_copys_recipient_is_a_bcc_only_when_unnamed() -> None:
    assert shapes.blind("Bob@Example.org", [("", "bob@example.org")]) == []
    assert shapes.blind("erin@example.org", [("", "bob@example.org")]) == [("", "erin@example.org")]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("message-id", "Message-Id"),
        ("MIME-VERSION", "Mime-Version"),
        ("x-custom-HEADER", "X-Custom-Header"),
        ("odd_name", "odd_name"),
    ],
)
def test_header_names_as_go_has_them(name: str, canonical: str) -> None:
    assert headers.canonical_name(name) == canonical


def test_header_fields_unfolded() -> None:
    block = b"Subject: one\r\n two\r\n\tthree\r\nnot a field\r\nTo: a@example.org\r\n"
    assert headers.fields(block) == [("Subject", "one two three"), ("To", "a@example.org")]


@pytest.mark.parametrize(
    ("header", "links", "errors"),
    [
        ("<mailto:a@x.org>", ["mailto:a@x.org"], ""),
        ("<https://x.org/u>, <mailto:a@x.org>", ["https://x.org/u", "mailto:a@x.org"], ""),
        ("<ftp://x.org>", [], "unsupported link: ftp://x.org"),
        ("<mailto:a@x>, <mailto:b@x>", ["mailto:a@x"], "more than one mailto link: mailto:b@x"),
        ("mailto:a@x.org", [], "no <link> in the header"),
    ],
)
def test_list_unsubscribe(header: str, links: list[str], errors: str) -> None:
    found = headers.unsubscribe(f"List-Unsubscribe: {header}\n".encode())
    assert (found.header, found.links, found.errors) == (header, links, errors)


def test_part_ids_follow_the_tree() -> None:
    tree = BytesParser(policy=policy.default).parsebytes(wire_bytes(rich()))
    numbered = [(part_id, leaf.get_content_type()) for part_id, leaf in parts.numbered_leaves(tree)]
    assert numbered == [
        ("1.1", "text/plain"),
        ("1.2.1", "text/html"),
        ("1.2.2", "image/png"),
        ("2", "application/pdf"),
    ]
    found = parts.parts(tree)
    assert [(p.part_id, p.inline) for p in found] == [("1.2.2", True), ("2", False)]
    assert parts.find(tree, "1.1") is None
    single = BytesParser(policy=policy.default).parsebytes(b"Subject: x\n\nHello\n")
    assert [part_id for part_id, _ in parts.numbered_leaves(single)] == ["1"]
