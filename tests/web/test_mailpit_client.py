"""The PyPI `mailpit-api-client`, unchanged, against a running `postier web`.

The client sends its changes as forms (`ids=...&Read=True`), where Mailpit reads JSON:
against Mailpit itself `put_messages` is a 400 and `delete_messages` deletes every
message whatever the IDs. postier reads a form as the client means it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mailpit.client.api import API

from postier.store.read import Reader
from tests.store_read.helpers import PDF, deliver, plain
from tests.web.messages import rich
from tests.web.process import WebProcess

ALICE = "alice@example.org"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[API, Path]]:
    store = tmp_path / "mail"
    deliver(store, "mbox", [plain("First"), rich("Second")], [ALICE])
    process = WebProcess(store).start()
    try:
        yield API(process.url, timeout=10), store
    finally:
        assert process.stop() == 0, process.log_text()


def test_lists_and_gets(served: tuple[API, Path]) -> None:
    api, _ = served
    listing = api.get_messages()
    assert [m.subject for m in listing.messages] == ["Second", "First"]
    assert listing.total == 2
    newest = listing.messages[0]
    message = api.get_message(newest.id)
    assert message.subject == "Second"
    assert message.text == "Plain words.\n"
    assert [a.file_name for a in message.attachments] == ["invoice.pdf"]
    assert [a.content_id for a in message.inline] == ["logo@x"]
    assert message.from_ is not None and message.from_.address == "sender@example.com"
    headers = api.get_message_headers(newest.id)
    assert headers.message_id == ["<m1@example.com>"]
    assert headers.delivered_to == [ALICE]
    text = api.get_message_attachment(newest.id, message.attachments[0].part_id)
    assert text.encode("utf-8", "surrogateescape")[:9] == PDF[:9]


def test_paging(served: tuple[API, Path]) -> None:
    api, _ = served
    page = api.get_messages(limit=1, start=1)
    assert [m.subject for m in page.messages] == ["First"]


def test_marks_read_and_deletes(served: tuple[API, Path]) -> None:
    api, store = served
    first, second = api.get_messages().messages
    api.put_messages([second.id], "Read", True)
    with Reader(store) as reader:
        states = {m.subject: m.read for m in reader.messages(limit=None).messages}
    assert states == {"First": True, "Second": False}
    api.delete_messages([first.id])
    assert [m.subject for m in api.get_messages().messages] == ["First"]
    api.delete_messages([])
    assert api.get_messages().messages == []
