"""What `/metrics` reads when scraped: the outbound queue's length and the age of its
oldest entry, and the web clients connected to the live events."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import aiohttp

from tests.metrics.scrape import TIMEOUT, Samples, api, scrape, send, value
from tests.support.server import ServerProcess


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then let go): the upstream is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_relay_queue_length_and_age(tmp_path: Path) -> None:
    arguments = (
        "--http-port", "0", "--metrics", "--relay", f"127.0.0.1:{unused_port()}",
        "--relay-match", ".*@relayed\\.test", "--relay-retry", "3600",
    )  # fmt: skip
    with ServerProcess(tmp_path / "store", *arguments) as server:
        before = scrape(server)
        send(server, "a@relayed.test")
        send(server, "b@relayed.test")
        send(server, "kept@example.org")  # stored here, not relayed
        samples = scrape(server)
    assert value(before, "postier_relay_queue_length") == 0
    assert value(before, "postier_relay_queue_oldest_seconds") == 0
    assert value(samples, "postier_relay_queue_length") == 2
    assert 0 < value(samples, "postier_relay_queue_oldest_seconds") < 60
    assert value(samples, "postier_smtp_messages_accepted_total") == 3


def test_no_queue_figures_without_a_relay(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "store", "--http-port", "0", "--metrics") as server:
        samples = scrape(server)
    assert not any(name.startswith("postier_relay_") for name, _ in samples)


def until(server: ServerProcess, clients: int) -> Samples:
    deadline = time.monotonic() + TIMEOUT
    while True:
        samples = scrape(server)
        if value(samples, "postier_web_clients") == clients or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


async def watch_and_scrape(server: ServerProcess) -> list[float]:
    """The web clients counted with two sockets open, one, then none."""
    seen: list[float] = []
    url = api(server) + "/api/events"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        first = await http.ws_connect(url)
        second = await http.ws_connect(url)
        for expected, socket_ in ((2, first), (1, second)):
            samples = await asyncio.to_thread(until, server, expected)
            seen.append(value(samples, "postier_web_clients"))
            await socket_.close()
    samples = await asyncio.to_thread(until, server, 0)
    seen.append(value(samples, "postier_web_clients"))
    return seen


def test_web_clients(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "store", "--http-port", "0", "--metrics") as server:
        assert asyncio.run(watch_and_scrape(server)) == [2, 1, 0]
