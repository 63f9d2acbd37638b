"""The plumbing another listener (HTTP, POP3) shares with SMTP: binding, signals, stopping."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import pytest

from postier.server.binding import Endpoint, addresses, cannot_listen, listen
from postier.server.errors import ServerError
from postier.server.service import Service, run_services


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class EchoService(Service):
    """A listener that is not SMTP, on the same loop."""

    def __init__(self, events: list[str], name: str) -> None:
        self.events = events
        self.name = name
        self.server: asyncio.Server | None = None

    async def start(self) -> list[str]:
        self.server = await listen(Endpoint("127.0.0.1", 0), Echo)
        self.events.append(f"{self.name} started")
        return addresses(self.server)

    def announce(self) -> None:
        self.events.append(f"{self.name} announced")

    def reload(self) -> None:
        self.events.append(f"{self.name} reloaded")

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        self.events.append(f"{self.name} stopped")


class Failing(EchoService):
    async def start(self) -> list[str]:
        raise ServerError("cannot listen")


def test_several_listeners_share_one_loop_its_signals_and_its_stop() -> None:
    events: list[str] = []
    ready: list[list[str]] = []

    async def echo(address: str) -> bytes:
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"ping")
        data = await reader.readexactly(4)
        writer.close()
        return data

    async def scenario() -> None:
        services = [EchoService(events, "first"), EchoService(events, "second")]
        running = asyncio.ensure_future(
            run_services(
                services, reload=lambda: events.append("shared reloaded"), on_ready=ready.append
            )
        )
        while not ready:
            await asyncio.sleep(0.01)
        assert await echo(ready[0][0]) == b"ping"
        second = services[1].server
        assert second is not None
        assert await echo(addresses(second)[0]) == b"ping"
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert events == [
        "first started",
        "second started",
        "first announced",
        "second announced",
        "shared reloaded",
        "first reloaded",
        "second reloaded",
        "first stopped",
        "second stopped",
    ]
    assert ready[0][0].startswith("127.0.0.1:") and not ready[0][0].endswith(":0")


def test_a_listener_that_cannot_start_stops_those_already_started() -> None:
    events: list[str] = []

    async def scenario() -> None:
        services = [EchoService(events, "first"), Failing(events, "second")]
        with pytest.raises(ServerError):
            await run_services(services, reload=lambda: None)

    asyncio.run(scenario())
    assert events == ["first started", "first stopped"]


def test_a_port_in_use_is_said_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def scenario() -> None:
            with pytest.raises(ServerError, match=rf"^cannot listen on 127.0.0.1:{port}: "):
                await listen(Endpoint("127.0.0.1", port), Echo)

        asyncio.run(scenario())


def test_only_privileged_ports_get_the_root_hint() -> None:
    error = OSError(13, "Permission denied")
    assert str(cannot_listen("h", 25, error)).endswith("(ports below 1024 need root)")
    assert "root" not in str(cannot_listen("h", 0, error))
    assert "root" not in str(cannot_listen("h", 2525, error))
