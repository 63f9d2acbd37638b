"""`/api/events`: the live events' frames (new, update, delete, truncate, stats), the
Origin check, a slow client dropped without harm, and a clean close at shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import smtplib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from postier.store.read import Reader
from postier.web import Mail, WebContext, build_app
from postier.web.events import HUB, EventHub
from tests.store_read.helpers import deliver, plain
from tests.support.hostile import narrow_connection
from tests.support.server import ServerProcess

ALICE = "alice@example.org"
BOB = "bob@example.org"
WAIT = 10.0

Frame = dict[str, Any]


class Live:
    """The application over a store, its hub looking at the files every 50 ms."""

    def __init__(self, store: Path, *, queue: int | None = None) -> None:
        self.reader = Reader(store, fsync=False)
        self.mail = Mail(self.reader)
        self.app = build_app(WebContext(self.mail))
        self.hub: EventHub = self.app[HUB]
        self.hub.poll = 0.05
        if queue is not None:
            self.hub.queue = queue
        self.client: TestClient[Any, Any] = TestClient(TestServer(self.app))

    async def socket(self, **options: Any) -> aiohttp.ClientWebSocketResponse:
        """A socket that hears every change from now on: its first frame says so."""
        ws = await self.client.ws_connect("/api/events", **options)
        await next_frame(ws, "stats")
        return ws

    async def run(self, call: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(call)

    async def listing(self) -> dict[str, Any]:
        async with self.client.get("/api/v1/messages?limit=0") as response:
            return dict(await response.json())


@asynccontextmanager
async def live(store: Path, **options: Any) -> AsyncIterator[Live]:
    server = Live(store, **options)
    await server.client.start_server()
    try:
        yield server
    finally:
        await server.client.close()
        server.mail.close()
        server.reader.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(test(), 60)

    asyncio.run(bounded())


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> Frame:
    """The next frame of type `kind` (others are skipped), within `WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        message = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: Frame = json.loads(message.data)
        assert set(frame) == {"Type", "Data"}
        if frame["Type"] == kind:
            return frame


def fill(
    store: Path, count: int, to: tuple[str, ...] = (ALICE,), first: int = 0, fmt: str = "mbox"
) -> None:
    messages = [plain(f"Message {n}", f"Body {n}.\n") for n in range(first, first + count)]
    deliver(store, fmt, messages, to)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_a_new_message_is_its_summary_then_the_counts(store: Path, fmt: str) -> None:
    async def test() -> None:
        deliver(store, fmt, [plain("Before")], [ALICE])  # type: ignore[arg-type]
        async with live(store) as server:
            ws = await server.socket()
            other = plain("Arrived", "Hello live.\n", cc="Carol <carol@example.org>")
            await server.run(lambda: deliver(store, fmt, [other], [BOB]))  # type: ignore[arg-type]
            frame = await next_frame(ws, "new")
            listed = (await server.listing())["messages"]
            assert frame["Data"] == next(m for m in listed if m["Subject"] == "Arrived")
            assert frame["Data"]["Bcc"] == [{"Name": "", "Address": BOB}]
            stats = await next_frame(ws, "stats")
            assert stats["Data"]["Total"] == 2
            assert stats["Data"]["Unread"] == 2
            assert isinstance(stats["Data"]["Version"], str)
            await ws.close()

    run(test)


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_read_state_changes_are_updates_whoever_made_them(store: Path, fmt: str) -> None:
    async def test() -> None:
        fill(store, 2, fmt=fmt)
        async with live(store) as server:
            first, second = [m["ID"] for m in (await server.listing())["messages"]]
            ws = await server.socket()
            body = {"IDs": [first], "Read": True}
            async with server.client.put("/api/v1/messages", json=body) as response:
                assert response.status == 200
            assert (await next_frame(ws, "update"))["Data"] == {"ID": first, "Read": True}
            assert (await next_frame(ws, "stats"))["Data"]["Unread"] == 1

            def elsewhere() -> None:  # another reader: another process, as the CLI is
                with Reader(store, fsync=False) as reader:
                    reader.mark([second], read=True)
                    reader.mark([first], read=False)

            await server.run(elsewhere)
            seen = [(await next_frame(ws, "update"))["Data"] for _ in range(2)]
            assert sorted(seen, key=lambda d: d["ID"]) == sorted(
                [{"ID": second, "Read": True}, {"ID": first, "Read": False}],
                key=lambda d: d["ID"],
            )
            await ws.close()

    run(test)


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_deletions_are_deletes_and_emptying_the_store_a_truncate(store: Path, fmt: str) -> None:
    async def test() -> None:
        fill(store, 3, fmt=fmt)
        fill(store, 2, (BOB,), first=3, fmt=fmt)
        async with live(store) as server:
            ids = [m["ID"] for m in (await server.listing())["messages"]]
            ws = await server.socket()
            async with server.client.delete("/api/v1/messages", json={"IDs": ids[:1]}) as reply:
                assert reply.status == 200
            assert (await next_frame(ws, "delete"))["Data"] == {"ID": ids[0]}
            assert (await next_frame(ws, "stats"))["Data"]["Total"] == 4

            def elsewhere() -> None:
                with Reader(store, fsync=False) as reader:
                    reader.delete([ids[1]])

            await server.run(elsewhere)
            assert (await next_frame(ws, "delete"))["Data"] == {"ID": ids[1]}
            async with server.client.delete("/api/v1/messages") as reply:
                assert reply.status == 200
            assert (await next_frame(ws, "truncate"))["Data"] is None
            assert (await next_frame(ws, "stats"))["Data"]["Total"] == 0
            await ws.close()

    run(test)


def test_every_open_socket_hears_and_a_closed_one_is_let_go(store: Path) -> None:
    async def test() -> None:
        fill(store, 1)
        async with live(store) as server:
            sockets = [await server.socket() for _ in range(3)]
            await sockets[2].close()
            await server.run(lambda: fill(store, 1, first=1))
            for ws in sockets[:2]:
                assert (await next_frame(ws, "new"))["Data"]["Subject"] == "Message 1"
            assert len(server.hub.clients) == 2
            for ws in sockets[:2]:
                await ws.close()
            for _ in range(100):
                if not server.hub.clients:
                    break
                await asyncio.sleep(0.02)
            assert not server.hub.clients
            assert server.hub.dropped == 0

    run(test)


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "https://127.0.0.1", "http://127.0.0.1:1"]
)
def test_a_foreign_origin_is_refused(store: Path, origin: str) -> None:
    async def test() -> None:
        fill(store, 1)
        async with live(store) as server:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await server.socket(origin=origin)
            assert refused.value.status == 403
            assert not server.hub.clients

    run(test)


def test_the_own_origin_is_let_in_and_a_plain_get_is_a_json_400(store: Path) -> None:
    async def test() -> None:
        fill(store, 1)
        async with live(store) as server:
            own = f"http://127.0.0.1:{server.client.port}"
            ws = await server.socket(origin=own)
            assert len(server.hub.clients) == 1
            await ws.close()
            async with server.client.get("/api/events") as response:
                assert response.status == 400
                assert "WebSocket" in (await response.json())["Error"]

    run(test)


def test_the_server_closes_its_sockets_cleanly_at_shutdown(store: Path) -> None:
    async def test() -> None:
        fill(store, 1)
        server = Live(store)
        await server.client.start_server()
        try:
            ws = await server.socket()
            closing = asyncio.create_task(server.client.server.close())
            message = await ws.receive(timeout=WAIT)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == aiohttp.WSCloseCode.GOING_AWAY
            await ws.close()
            await asyncio.wait_for(closing, WAIT)
        finally:
            await server.client.close()
            server.mail.close()
            server.reader.close()

    run(test)


def open_silent(port: int) -> socket.socket:
    """A WebSocket opened by hand on a connection that takes in little and reads nothing."""
    sock = narrow_connection(("127.0.0.1", port))
    sock.sendall(
        b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    return sock


def test_a_client_that_does_not_read_is_dropped_and_the_others_go_on(store: Path) -> None:
    async def test() -> None:
        fill(store, 100)
        async with live(store, queue=50) as server:
            ids = [m["ID"] for m in (await server.listing())["messages"]]
            ws = await server.socket()
            silent = await asyncio.to_thread(open_silent, server.client.port)
            try:
                for _ in range(100):
                    if len(server.hub.clients) == 2:
                        break
                    await asyncio.sleep(0.02)
                assert len(server.hub.clients) == 2
                read = True
                deadline = time.monotonic() + 30
                while not server.hub.dropped and time.monotonic() < deadline:
                    for start in range(0, 100, 40):  # 40 updates a batch: under the queue
                        batch = ids[start : start + 40]
                        await server.run(lambda b=batch, r=read: server.reader.mark(b, read=r))
                        told = {(await next_frame(ws, "update"))["Data"]["ID"] for _ in batch}
                        assert told == set(batch)  # the one that reads keeps up
                    read = not read
                assert server.hub.dropped == 1
                assert len(server.hub.clients) == 1
                await server.run(lambda: fill(store, 1, first=100))
                assert (await next_frame(ws, "new"))["Data"]["Subject"] == "Message 100"
            finally:
                silent.close()
            await ws.close()

    run(test)


def test_a_batch_larger_than_a_queue_drops_and_does_not_build_it(store: Path) -> None:
    async def test() -> None:
        fill(store, 30)
        async with live(store, queue=10) as server:
            ids = [m["ID"] for m in (await server.listing())["messages"]]
            ws = await server.socket()
            await server.run(lambda: server.reader.mark(ids, read=True))
            message = await ws.receive(timeout=WAIT)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
            assert server.hub.dropped == 1
            again = await server.socket()  # the page reconnects, and hears again
            await server.run(lambda: server.reader.mark(ids[:1], read=False))
            assert (await next_frame(again, "update"))["Data"] == {"ID": ids[0], "Read": False}
            await again.close()
            await ws.close()

    run(test)


def test_a_running_server_tells_smtp_arrivals_and_says_goodbye_at_a_stop(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "mail", "--http-host", "127.0.0.1", "--http-port", "0")

    async def test() -> None:
        match = re.search(r"HTTP API on (http://\S+?)/;", process.wait_for_log("HTTP API on"))
        assert match is not None
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(match[1] + "/api/events")
            await next_frame(ws, "stats")
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = BOB, ALICE, "Over SMTP"
            message.set_content("Hello.\n")
            sent = time.monotonic()
            await asyncio.to_thread(smtp_send, process.address, message)
            frame = await next_frame(ws, "new")
            assert time.monotonic() - sent < 2.0
            assert frame["Data"]["Subject"] == "Over SMTP"
            assert frame["Data"]["To"] == [{"Name": "", "Address": ALICE}]
            process.signal(signal.SIGTERM)
            closing = await ws.receive(timeout=WAIT)
            while closing.type == aiohttp.WSMsgType.TEXT:  # the counts after the arrival
                closing = await ws.receive(timeout=WAIT)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
            await ws.close()
        assert await asyncio.to_thread(process.wait) == 0

    with process:
        run(test)


def smtp_send(address: tuple[str, int], message: EmailMessage) -> None:
    with smtplib.SMTP(*address, timeout=10) as client:
        client.send_message(message)


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_a_delivery_to_several_is_one_entry_in_the_frames(store: Path, fmt: str) -> None:
    """The frames speak of all mail's entries: a delivery to three is one `new` under its
    d ID; one copy leaving changes nothing but the entry's read state; the last one
    leaving is its `delete`."""

    async def test() -> None:
        deliver(store, fmt, [plain("Before")], [ALICE])  # type: ignore[arg-type]
        carol = "carol@example.org"
        async with live(store) as server:
            ws = await server.socket()
            shared = plain("To three", "Hello all.\n")
            await server.run(lambda: deliver(store, fmt, [shared], [ALICE, BOB, carol]))  # type: ignore[arg-type]
            frame = await next_frame(ws, "new")
            entry = frame["Data"]
            assert entry["ID"].startswith("d")
            named = [*entry["To"], *entry["Cc"], *entry["Bcc"]]
            assert {c["Address"] for c in named} == {ALICE, BOB, carol}
            assert (await next_frame(ws, "stats"))["Data"]["Total"] == 2
            copies = await server.run(lambda: server.reader.copies(entry["ID"]))
            copy_ids = [c.id for c in copies]
            assert len(copy_ids) == 3 and entry["ID"] not in copy_ids
            # Two copies read: the entry stays unread (a copy still is); nothing is said.
            await server.run(lambda: server.reader.mark(copy_ids[:2], read=True))
            # The last unread copy leaves: the entry is read now, and still there.
            await server.run(lambda: server.reader.delete(copy_ids[2:]))
            update = await next_frame(ws, "update")
            assert update["Data"] == {"ID": entry["ID"], "Read": True}
            assert (await next_frame(ws, "stats"))["Data"]["Total"] == 2
            # The other copies leave: the entry goes.
            await server.run(lambda: server.reader.delete(copy_ids[:2]))
            gone = await next_frame(ws, "delete")
            assert gone["Data"] == {"ID": entry["ID"]}
            stats = await next_frame(ws, "stats")
            assert stats["Data"]["Total"] == 1
            await ws.close()

    run(test)
