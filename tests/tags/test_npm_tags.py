"""Tags through npm's `mailpit-api` client, unchanged, against a real
`postier serve --tags-from-plus` fed over SMTP: `getTags`, `setTags`, `renameTag`,
`deleteTag`, `searchMessages` with `tag:` and `Tags` in `getMessageSummary` and the
listings, each in the shape the client expects, and postier's refusals surfaced by the
client as its errors (status and postier's message)."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.web.npm_call import npm_call

HTTP = re.compile(r"HTTP API on (http://\S+?)/;")
SENDER = "s@example.com"
# Subject, recipient, X-Tags header (None: no header).
MAIL = [
    ("Invoice", "alice@example.org", "invoice, urgent"),
    ("Letter", "bob+newsletter@example.org", None),
    ("Plain", "carol@example.org", None),
]


def message(subject: str, recipient: str, tags: str | None) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = subject, SENDER, recipient
    if tags is not None:
        mail["X-Tags"] = tags
    mail.set_content(f"{subject}.\n")
    return mail


def ok(url: str, method: str, *args: Any) -> Any:
    """The value of a call the client must make without an error."""
    result = npm_call(url, method, *args)
    assert result["ok"], (method, args, result)
    return result["value"]


def refused(url: str, method: str, *args: Any) -> str:
    """The client's error for a call postier must refuse."""
    result = npm_call(url, method, *args)
    assert not result["ok"], (method, args, result)
    error: str = result["error"]
    assert error.startswith("Mailpit API Error: "), error
    return error


def tagged(url: str, tag: str) -> set[str]:
    """The subjects `searchMessages` finds for `tag:TAG`, each once."""
    found = ok(url, "searchMessages", {"query": f"tag:{tag}"})
    subjects = [summary["Subject"] for summary in found["messages"]]
    assert len(subjects) == len(set(subjects)) == found["messages_count"], found
    return set(subjects)


@pytest.mark.slow
@pytest.mark.interop
def test_the_npm_client_tags_messages(tmp_path: Path) -> None:
    args = ("--http-host", "127.0.0.1", "--http-port", "0", "--tags-from-plus")
    with ServerProcess(tmp_path / "mail", *args) as process:
        match = HTTP.search(process.wait_for_log(HTTP.pattern))
        assert match is not None
        url = match[1]
        with smtplib.SMTP(*process.address, timeout=10) as client:
            for subject, recipient, tags in MAIL:
                client.send_message(message(subject, recipient, tags), SENDER, [recipient])

        # What the header and the plus-address give, sorted; in every summary too.
        assert ok(url, "getTags") == ["invoice", "newsletter", "urgent"]
        listing = ok(url, "listMessages")
        ids = {summary["Subject"]: summary["ID"] for summary in listing["messages"]}
        assert {s["Subject"]: s["Tags"] for s in listing["messages"]} == {
            "Invoice": ["invoice", "urgent"],
            "Letter": ["newsletter"],
            "Plain": [],
        }
        assert listing["tags"] == ["invoice", "newsletter", "urgent"]
        assert tagged(url, "newsletter") == {"Letter"}
        assert tagged(url, "urgent") == {"Invoice"}

        # setTags on the untagged one: names cleaned, an existing tag's spelling kept.
        assert ok(url, "setTags", {"IDs": [ids["Plain"]], "Tags": ["reviewed!", "URGENT"]}) == "ok"
        assert ok(url, "getMessageSummary", ids["Plain"])["Tags"] == ["reviewed", "urgent"]
        assert ok(url, "getTags") == ["invoice", "newsletter", "reviewed", "urgent"]
        assert tagged(url, "urgent") == {"Invoice", "Plain"}
        assert tagged(url, "reviewed") == {"Plain"}

        # renameTag: onto a tag that exists is refused, and nothing changes; else renamed.
        error = refused(url, "renameTag", "invoice", "urgent")
        assert "400" in error and error.endswith('{"Error": "tag already exists: urgent"}')
        assert ok(url, "getTags") == ["invoice", "newsletter", "reviewed", "urgent"]
        assert ok(url, "renameTag", "invoice", "billing") == "ok"
        assert ok(url, "getTags") == ["billing", "newsletter", "reviewed", "urgent"]
        assert tagged(url, "billing") == {"Invoice"}
        assert tagged(url, "invoice") == set()
        assert ok(url, "getMessageSummary", ids["Invoice"])["Tags"] == ["billing", "urgent"]

        # deleteTag: off every message that had it; a tag nobody has is refused.
        assert ok(url, "deleteTag", "urgent") == "ok"
        assert ok(url, "getTags") == ["billing", "newsletter", "reviewed"]
        assert tagged(url, "urgent") == set()
        assert ok(url, "getMessageSummary", ids["Invoice"])["Tags"] == ["billing"]
        assert ok(url, "getMessageSummary", ids["Plain"])["Tags"] == ["reviewed"]
        assert ok(url, "getMessageSummary", ids["Letter"])["Tags"] == ["newsletter"]
        error = refused(url, "deleteTag", "urgent")
        assert "400" in error and error.endswith('{"Error": "tag not found: urgent"}')

        # setTags for an ID the store does not hold: a 404, and no message is changed.
        error = refused(url, "setTags", {"IDs": [ids["Plain"], "nosuchid"], "Tags": ["x"]})
        assert "404" in error
        assert ok(url, "getMessageSummary", ids["Plain"])["Tags"] == ["reviewed"]
        # An empty list takes every tag off.
        assert ok(url, "setTags", {"IDs": [ids["Letter"]], "Tags": []}) == "ok"
        assert ok(url, "getTags") == ["billing", "reviewed"]
        assert tagged(url, "newsletter") == set()
