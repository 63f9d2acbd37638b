"""A real `postier web` in a subprocess on a free loopback port, stopped by its PID."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

_SERVING = re.compile(r"HTTP API on (https?://\S+?)/;")


class WebProcess:
    def __init__(self, store: Path, *args: str) -> None:
        self.store = store
        self.args = args
        self.log_path = store.parent / "web.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 15.0) -> WebProcess:
        command = [
            sys.executable, "-m", "postier", "web", "--store", str(self.store),
            "--http-host", "127.0.0.1", "--http-port", "0", *self.args,
        ]  # fmt: skip
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        since = self._log.tell()  # another server's lines may come before: not this one's
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _SERVING.search(self.log_text()[since:])
            if match:
                self.url = match[1]
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"postier web did not start:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by PID, SIGKILL to its group if it does not end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self._log is not None:
            self._log.close()
        return None if self.process is None else self.process.returncode
