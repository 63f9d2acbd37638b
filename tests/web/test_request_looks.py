"""A request of the list or the search looks at the files once, whatever it reads
(a page, its whole list's counts, the tags, each row's facts): a look is a few `stat`
calls a mailbox, milliseconds on a store of a thousand (counted, not timed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import ApiFor


@pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/search?query=hello"])
def test_one_look_per_request(store: Path, fmt: StoreFormat, api_for: ApiFor, path: str) -> None:
    deliver(store, fmt, [plain("hello"), plain("hello again")], ("a@example.org", "b@example.org"))
    api = api_for(store)
    looks = [0]
    original = api.reader.sync

    def counted(only: object = None) -> object:
        looks[0] += 1
        return original() if only is None else original(only)  # type: ignore[arg-type]

    api.reader.sync = counted  # type: ignore[method-assign]
    reply = api.get(path)
    assert reply.status == 200
    assert json.loads(reply.body)["messages_count"] == 2
    assert looks[0] == 1
    deliver(store, fmt, [plain("hello, third")], ("a@example.org",))
    assert json.loads(api.get(path).body)["messages_count"] == 3  # the next request looks
    assert looks[0] == 2
