"""A bug inside a session reaches the log, never the client: it hears 421 and is closed."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from postier.server.context import ServerContext
from postier.server.session import SmtpSession
from postier.settings import Settings
from postier.store import open_store


class FakeTransport:
    """Just enough of a transport to record what the session writes."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading


def test_an_internal_error_is_a_421_and_a_log_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> FakeTransport:
        settings = Settings(store=tmp_path / "mail", hostname="mx.test")
        store = open_store(settings.store, "mbox")
        with ThreadPoolExecutor(1) as executor:
            context = ServerContext(settings, store, executor)
            session = SmtpSession(context)
            transport = FakeTransport()
            session.connection_made(transport)  # type: ignore[arg-type]

            def broken() -> None:
                raise RuntimeError("secret detail of a bug")

            session.conn.next_event = broken  # type: ignore[method-assign,assignment]
            session.data_received(b"NOOP\r\n")
            session.connection_lost(None)
        store.close()
        return transport

    with caplog.at_level(logging.ERROR, logger="postier.server"):
        transport = asyncio.run(scenario())
    assert transport.closed
    last = transport.written.decode().splitlines()[-1]
    assert last.startswith("421 4.3.0 mx.test Error: local error")
    assert b"secret detail" not in transport.written
    assert "secret detail of a bug" in caplog.text
