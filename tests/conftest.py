"""Fixtures for every suite: a real server on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles, make_tls_files


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A store directory that does not exist yet."""
    return tmp_path / "store"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A `postier serve` on 127.0.0.1 (mbox, fsync) with its store in tmp_path/mail."""
    process = ServerProcess(tmp_path / "mail").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def maildir_server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "mail", "--format", "maildir").start()
    try:
        yield process
    finally:
        process.stop()


StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers with options of the test's choosing; each one is stopped at the end.

    `start_server(*args, store=..., env=..., preexec=...)`; the store defaults to
    tmp_path/mail.
    """
    started: list[ServerProcess] = []

    def start(
        *args: str,
        store: Path | None = None,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> ServerProcess:
        store = store or tmp_path / "mail"
        log = tmp_path / f"{store.name}-server.log"  # the store's parent may not exist yet
        process = ServerProcess(store, *args, log=log, env=env, preexec=preexec)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A trustme authority and a certificate for mx.test and 127.0.0.1."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))
