"""The live events tell a change of tags as Mailpit does, an `update` of `{"ID", "Tags"}`
for all mail's entry, whether the tags were set, renamed or taken off, and for a
delivery to several recipients under its one ID."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store_read.helpers import deliver, plain
from tests.web.test_events import ALICE, BOB, live, next_frame, run


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_tags_set_renamed_and_taken_off_are_updates(tmp_path: Path, fmt: str) -> None:
    store = tmp_path / "mail"

    async def test() -> None:
        deliver(store, fmt, [plain("Both")], [ALICE, BOB])  # type: ignore[arg-type]
        deliver(store, fmt, [plain("Alone")], [ALICE])  # type: ignore[arg-type]
        async with live(store) as server:
            listed = {m["Subject"]: m["ID"] for m in (await server.listing())["messages"]}
            both, alone = listed["Both"], listed["Alone"]
            assert both.startswith("d")  # one entry for the two copies
            ws = await server.socket()

            async def put(path: str, body: object) -> None:
                async with server.client.put(path, json=body) as response:
                    assert response.status == 200, await response.text()

            async def told(key: str, tags: set[str]) -> None:
                """The next update names `key` with `tags`, as the listing now has them."""
                frame = (await next_frame(ws, "update"))["Data"]
                listed = {m["ID"]: m["Tags"] for m in (await server.listing())["messages"]}
                assert frame == {"ID": key, "Tags": listed[key]}
                assert set(frame["Tags"]) == tags

            await put("/api/v1/tags", {"IDs": [both], "Tags": ["urgent", "Invoice"]})
            await told(both, {"urgent", "Invoice"})
            await put("/api/v1/tags/urgent", {"Name": "later"})
            await told(both, {"later", "Invoice"})
            async with server.client.delete("/api/v1/tags/Invoice") as response:
                assert response.status == 200
            await told(both, {"later"})
            await put("/api/v1/tags", {"IDs": [alone], "Tags": ["solo"]})
            await told(alone, {"solo"})
            await ws.close()

    run(test)
