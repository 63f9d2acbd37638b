"""`/api/events`' fan-out: a batch's frames, made into wire bytes once, written whole to
each socket's transport beside aiohttp's own writer (pings, pongs, close frames), with
a socket that does not read dropped by its unsent bytes."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from postier.web import api_events
from postier.web.events import Client
from postier.web.wire import text_frame
from tests.store_read.helpers import deliver, plain
from tests.support.hostile import narrow_connection
from tests.web import wsraw
from tests.web.test_events import ALICE, WAIT, Live, fill, live, next_frame, run

Socket = aiohttp.ClientWebSocketResponse


def listed_ids(listing: dict[str, Any]) -> list[str]:
    return [m["ID"] for m in listing["messages"]]


async def hear_until(ws: aiohttp.ClientWebSocketResponse, total: int) -> list[str]:
    """Every frame's text until a `stats` saying the store holds `total` messages."""
    texts: list[str] = []
    deadline = time.monotonic() + WAIT
    while True:
        message = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        assert message.type == aiohttp.WSMsgType.TEXT, message
        texts.append(message.data)
        frame = json.loads(message.data)
        if frame["Type"] == "stats" and frame["Data"]["Total"] == total:
            return texts


def test_a_batch_reaches_every_socket_whole_and_in_the_same_order(store: Path) -> None:
    async def test() -> None:
        fill(store, 1)
        async with live(store) as server:
            sockets = [await server.socket() for _ in range(4)]
            # aiohttp's client offers permessage-deflate; the server agrees to none.
            assert all(ws.compress == 0 for ws in sockets)
            subjects = [f"Grüße {n} ✉ 郵便" for n in range(40)]
            bodies = ["Body. " * (n * 30) + "\n" for n in range(40)]
            messages = [plain(s, b) for s, b in zip(subjects, bodies, strict=True)]
            await server.run(lambda: deliver(store, "mbox", messages, (ALICE,)))
            heard = [await hear_until(ws, 41) for ws in sockets]
            assert all(texts == heard[0] for texts in heard)
            frames = [json.loads(text) for text in heard[0]]
            arrived = [f["Data"]["Subject"] for f in frames if f["Type"] == "new"]
            assert sorted(arrived) == sorted(subjects)
            assert {len(text.encode()) > 125 for text in heard[0]} == {True, False}
            for ws in sockets:
                await ws.close()

    run(test)


async def flip(server: Live, ids: list[str], readers: list[Socket], read: bool) -> None:
    """Mark `ids` read (or unread), 15 a batch; the sockets that read hear every one."""
    for start in range(0, len(ids), 15):  # under the batch's cap (`queue=20`)
        batch = ids[start : start + 15]
        await server.run(lambda b=batch: server.reader.mark(b, read=read))
        told = [[(await next_frame(ws, "update"))["Data"] for _ in batch] for ws in readers]
        assert all(heard == told[0] for heard in told)  # the same frames, in the same order
        assert sorted(d["ID"] for d in told[0]) == sorted(batch)
        assert {d["Read"] for d in told[0]} == {read}


def joined(server: Live, sock: socket.socket) -> Client | None:
    """The hub's client of the connection `sock` is the client end of."""
    port = sock.getsockname()[1]
    for client in server.hub.clients:
        transport = client.request.transport
        if transport is not None and transport.get_extra_info("peername")[1] == port:
            return client
    return None


def read_until_close(sock: socket.socket) -> tuple[list[wsraw.Frame], bytes]:
    """What a raw socket is sent, from the 101's head to the close frame, and any bytes
    after it (until the server ends the connection or a second passes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    data = data.split(b"\r\n\r\n", 1)[1]
    frames: list[wsraw.Frame] = []
    while not frames or frames[-1].opcode != wsraw.CLOSE:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended without a close frame after {len(frames)}"
        more, data = wsraw.parse(data + chunk)
        frames += more
        if frames and frames[-1].opcode != wsraw.CLOSE:
            assert all(f.opcode != wsraw.CLOSE for f in frames)
    sock.settimeout(1.0)
    sock.sendall(wsraw.masked(wsraw.CLOSE, frames[-1].payload[:2]))
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return frames, data


def test_a_socket_that_does_not_read_is_dropped_with_1013_and_the_others_hear_all(
    store: Path,
) -> None:
    async def test() -> None:
        fill(store, 60)
        async with live(store, queue=20) as server:  # 40 KiB unsent at most
            ids = listed_ids(await server.listing())
            readers = [await server.socket() for _ in range(2)]
            silent = await asyncio.to_thread(narrow_connection, ("127.0.0.1", server.client.port))
            try:
                silent.sendall(wsraw.UPGRADE)  # and reads nothing, for now
                for _ in range(200):
                    if len(server.hub.clients) == 3:
                        break
                    await asyncio.sleep(0.02)
                read = True
                deadline = time.monotonic() + 30
                while not server.hub.dropped and time.monotonic() < deadline:
                    await flip(server, ids, readers, read)
                    read = not read
                assert server.hub.dropped == 1
                assert len(server.hub.clients) == 2
                frames, after = await asyncio.to_thread(read_until_close, silent)
            finally:
                silent.close()
            *texts, close = frames
            assert close.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
            assert close.payload[2:] == b"too slow: reload"
            assert after == b""
            assert all(f.opcode == wsraw.TEXT and f.fin and not f.rsv for f in texts)
            told = [json.loads(f.payload) for f in texts]
            assert told[0]["Type"] == "stats"  # its greeting, then what it was behind on
            assert len(told) > 60
            await server.run(lambda: fill(store, 1, first=60))
            for ws in readers:
                assert (await next_frame(ws, "new"))["Data"]["Subject"] == "Message 60"
                await ws.close()

    run(test)


def test_pings_and_pongs_go_between_the_frames(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server pings every 0.4 s (a pong is due within 0.2 s) and answers a client's
    pings, while arrivals are written to the same connections."""
    monkeypatch.setattr(api_events, "HEARTBEAT", 0.4)

    async def test() -> None:
        fill(store, 1)
        async with live(store) as server:
            answering = await server.socket(autoping=False)  # sees the server's pings
            pinging = await server.socket(heartbeat=0.4)  # pings the server
            stop = threading.Event()
            sent: list[int] = []

            def arrivals() -> None:
                while not stop.is_set():
                    fill(store, 1, first=1 + len(sent))
                    sent.append(1)
                    time.sleep(0.02)

            async def answer() -> int:
                pings = 0
                while True:
                    message = await answering.receive(timeout=WAIT)
                    if message.type == aiohttp.WSMsgType.PING:
                        pings += 1
                        await answering.pong(message.data)
                        continue
                    assert message.type == aiohttp.WSMsgType.TEXT, message
                    frame = json.loads(message.data)
                    done = stop.is_set() and frame["Type"] == "stats"
                    if done and frame["Data"]["Total"] == 1 + len(sent):
                        return pings

            async def follow() -> None:
                while True:
                    frame = await next_frame(pinging, "stats")
                    if stop.is_set() and frame["Data"]["Total"] == 1 + len(sent):
                        return

            delivering = asyncio.create_task(asyncio.to_thread(arrivals))
            answered, followed = asyncio.create_task(answer()), asyncio.create_task(follow())
            await asyncio.sleep(2.0)
            stop.set()
            await delivering
            pings, _ = await asyncio.gather(answered, followed)
            assert pings >= 2
            assert len(sent) > 20
            assert not answering.closed and not pinging.closed
            assert len(server.hub.clients) == 2
            await answering.close()
            await pinging.close()

    run(test)


def test_no_frame_follows_a_close_frame(store: Path) -> None:
    """A client behind on its frames (its transport's buffer over aiohttp's high-water
    mark, under the hub's limit) sends a frame too large (`MAX_INCOMING`): aiohttp writes
    its close frame after what the client is behind on, and waits for the buffer to
    drain before it ends the handler. The socket is still joined meanwhile, and the
    batches told then are not written after the close frame."""

    async def test() -> None:
        fill(store, 60)
        async with live(store, queue=200) as server:  # 400 KiB unsent at most
            ids = listed_ids(await server.listing())
            readers = [await server.socket()]
            behind = await asyncio.to_thread(narrow_connection, ("127.0.0.1", server.client.port))
            try:
                behind.sendall(wsraw.UPGRADE)
                client = None
                for _ in range(200):
                    if (client := joined(server, behind)) is not None and client.greeted:
                        break
                    await asyncio.sleep(0.02)
                assert client is not None
                read = True
                while client.unsent() < 128 * 1024:  # paused: aiohttp's writes wait too
                    await flip(server, ids, readers, read)
                    read = not read
                too_large = b"x" * (api_events.MAX_INCOMING + 1)
                behind.sendall(wsraw.masked(wsraw.TEXT, too_large))
                for _ in range(200):
                    if client.socket.closed:
                        break
                    await asyncio.sleep(0.01)
                assert client.socket.closed  # its close frame is written
                unsent = client.unsent()
                for _ in range(3):
                    await flip(server, ids, readers, read)  # told to every socket joined
                    read = not read
                    assert client in server.hub.clients
                assert client.unsent() <= unsent  # nothing more for it
                frames, after = await asyncio.to_thread(read_until_close, behind)
            finally:
                behind.close()
            *texts, close = frames
            assert close.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
            assert after == b""
            assert all(f.opcode == wsraw.TEXT for f in texts)
            assert json.loads(texts[0].payload)["Type"] == "stats"
            for _ in range(100):
                if client not in server.hub.clients:
                    break
                await asyncio.sleep(0.02)
            assert client not in server.hub.clients
            await readers[0].close()

    run(test)


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


class _Socket:
    closed = False


class _Request:
    def __init__(self) -> None:
        self.transport = _Transport()


def a_client() -> tuple[Client, _Transport, _Socket]:
    request, sock = _Request(), _Socket()
    client = Client(sock, request)  # type: ignore[arg-type]
    return client, request.transport, sock


def test_batches_before_the_greeting_follow_it_in_one_write() -> None:
    client, transport, _ = a_client()
    client.send(b"first")
    client.send(b"second")
    assert transport.written == []
    transport.buffered = 7
    assert client.unsent() == 7 + len(b"firstsecond")
    client.greet(text_frame("hello"))
    client.greet(text_frame("again"))  # one greeting only
    assert transport.written == [text_frame("hello") + b"firstsecond"]
    assert client.unsent() == 7
    client.send(b"third")
    assert transport.written[1:] == [b"third"]


@pytest.mark.parametrize("why", ["hub closing", "aiohttp closed", "transport closing", "gone"])
def test_nothing_is_written_to_a_socket_on_its_way_out(why: str) -> None:
    client, transport, sock = a_client()
    client.greet(b"greeting")
    if why == "hub closing":
        client.closing = True
    elif why == "aiohttp closed":
        sock.closed = True
    elif why == "transport closing":
        transport.closing = True
    else:
        client.request.transport = None  # type: ignore[assignment]
    client.send(b"late")
    assert transport.written == [b"greeting"]
