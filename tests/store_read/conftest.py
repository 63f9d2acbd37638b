"""Fixtures for the reader's tests: stores built in the store's own formats, the CLI run
in-process, and a fixed local time zone so that tables read the same everywhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import postier.store.read  # noqa: F401 - installed, or on the path already
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from tests.store_read.helpers import CliRun, run_cli
from tests.support.server import ServerProcess


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tables show local time: make it UTC for the duration of each test."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store directory that does not exist yet."""
    return tmp_path / "mail"


@pytest.fixture
def cli(capsysbinary: pytest.CaptureFixture[bytes]) -> CliRun:
    """Run `postier ARGS...` in this process; returns the status and the output."""
    return lambda *args: run_cli(capsysbinary, *args)


@pytest.fixture(scope="module", params=["mbox", "maildir"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real `postier serve` per format, shared by a module's tests (each test writes to
    addresses of its own)."""
    fmt = request.param
    store = tmp_path_factory.mktemp(f"live-{fmt}") / "mail"
    process = ServerProcess(store, "--format", fmt, "--no-fsync").start()
    try:
        yield process
    finally:
        process.stop()
