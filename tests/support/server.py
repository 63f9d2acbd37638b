"""Run a real `postier serve` in a subprocess on loopback, and stop it for sure."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

_LISTENING = re.compile(r"listening on (\S+?):(\d+)")


class ServerProcess:
    """`python -m postier serve --port 0` with a store in `store`; the port is read from its log.

    `preexec` runs in the child just before the server starts (e.g. to set a resource
    limit that makes its writes fail). `start()` may be called again after `kill()` or
    `stop()`: the same store, a new port, the log appended to.
    """

    def __init__(
        self,
        store: Path,
        *args: str,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.args = args
        self.log_path = log or store.parent / f"{store.name}-server.log"
        self.env = {**os.environ, **(env or {})}
        self.preexec = preexec
        self.process: subprocess.Popen[bytes] | None = None
        self.host = "127.0.0.1"
        self.port = 0

    def start(self, timeout: float = 15.0) -> ServerProcess:
        command = [
            sys.executable, "-m", "postier", "serve",
            "--host", "127.0.0.1", "--port", "0", "--store", str(self.store),
            "--hostname", "mx.test", *self.args,
        ]  # fmt: skip
        if not any(arg.startswith("--http") for arg in self.args):
            command.append("--no-http")  # port 8025 is one, and the tests are many
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # A restart appends to the same log: only what this run writes tells its port.
        self._log_start = self._log.tell()
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            preexec_fn=self.preexec,  # noqa: PLW1509 - a setrlimit at most, no locks taken
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log_text(since_start=True))
            if match:
                self.host, self.port = match[1].strip("[]"), int(match[2])
                return self
            if self.process.poll() is not None:
                self._close_log()
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.log_text()}"
                )
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start within {timeout}s:\n{self.log_text()}")

    def log_text(self, *, since_start: bool = False) -> str:
        """The server's log; with `since_start`, only what the latest `start()` wrote."""
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return ""
        if since_start:
            data = data[getattr(self, "_log_start", 0) :]
        return data.decode(errors="replace")

    def wait_for_log(self, pattern: str, count: int = 1, timeout: float = 10) -> str:
        """Poll the log until `pattern` (a regex) appears `count` times; the log text."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if len(re.findall(pattern, text)) >= count:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not logged {count}x within {timeout}s:\n{text}")
            time.sleep(0.05)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 20.0) -> int:
        """The exit status, once the process ends by itself (after `signal()`)."""
        assert self.process is not None
        status = self.process.wait(timeout)
        self._close_log()
        return status

    def kill(self) -> None:
        """kill -9: no chance to clean anything up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._close_log()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait for a clean exit, and SIGKILL if it does not come."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._close_log()
        return self.process.returncode

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
