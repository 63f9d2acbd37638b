"""Fixtures for the HTTP API's tests: the API over a store, through aiohttp's test client
on loopback, driven from plain (synchronous) tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from postier.store.read import Reader
from postier.web import Mail, WebContext, build_app


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Api:
    """The API over one store, on its own event loop; each call waits for its reply."""

    def __init__(self, store: Path, **guards: Any) -> None:
        """`guards`: the context's `gate` and `hosts`."""
        self.runner = asyncio.Runner()
        self.reader = Reader(store, fsync=False)
        self.mail = Mail(self.reader)
        self.state = WebContext(self.mail, **guards)

        async def start() -> TestClient[Any, Any]:
            client: TestClient[Any, Any] = TestClient(TestServer(build_app(self.state)))
            await client.start_server()
            return client

        self.client = self.runner.run(start())

    def request(self, method: str, path: str, **options: Any) -> Reply:
        async def send() -> Reply:
            async with self.client.request(method, path, **options) as response:
                body = await response.read()
                return Reply(response.status, dict(response.headers), body)

        return self.runner.run(asyncio.wait_for(send(), 30))

    def get(self, path: str, **options: Any) -> Reply:
        return self.request("GET", path, **options)

    def put(self, path: str, **options: Any) -> Reply:
        return self.request("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Reply:
        return self.request("DELETE", path, **options)

    def close(self) -> None:
        try:
            self.runner.run(self.client.close())
        finally:
            self.mail.close()
            self.reader.close()
            self.runner.close()


ApiFor = Callable[..., Api]


@pytest.fixture
def api_for() -> Iterator[ApiFor]:
    """`api_for(store, **guards)`: the API over `store` (filled first); closed at the end."""
    opened: list[Api] = []

    def open_api(store: Path, **guards: Any) -> Api:
        api = Api(store, **guards)
        opened.append(api)
        return api

    try:
        yield open_api
    finally:
        for api in opened:
            api.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture(params=["mbox", "maildir"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)
