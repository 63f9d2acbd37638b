"""Peers of the checks' tests on loopback: an HTTP server that counts its connections
(with paths that answer 200, 500, redirect, or hang until the test ends), and a private
SpamAssassin daemon (`spamd --local`, its own configuration and home), stopped by PID."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.ports import free_port

HANG_LIMIT = 20.0
"""A hanging answer gives up by itself after this long, if the test never releases it."""


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, redirects: dict[str, str] | None = None) -> None:
        super().__init__((host, 0), _Handler)
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.redirects = redirects or {}
        self.release = threading.Event()
        self._lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, object]:
        accepted = super().get_request()
        with self._lock:
            self.connections += 1
        return accepted

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_HEAD(self) -> None:
        self.server.requests.append((self.command, self.path))
        if self.path == "/hang":
            self.server.release.wait(HANG_LIMIT)
            self._answer(200)
        elif self.path == "/500":
            self._answer(500)
        elif self.path in self.server.redirects:
            self._answer(302, Location=self.server.redirects[self.path])
        else:
            self._answer(200 if self.path.startswith("/ok") else 404)

    def _answer(self, status: int, **headers: str) -> None:
        with contextlib.suppress(OSError):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server(
    host: str = "127.0.0.1", redirects: dict[str, str] | None = None
) -> Iterator[CountingServer]:
    server = CountingServer(host, redirects)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        thread.join(10)
        server.server_close()


class Spamd:
    """`spamd` on 127.0.0.1, local tests only (no DNS, no network), its own site config
    (the system's `.pre` files, which load the plugins, and a local.cf without Bayes)."""

    def __init__(self, spamd: str, root: Path) -> None:
        self.spamd = spamd
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Spamd:
        # As root, spamd drops to `nobody`, who must read its configuration and own its home.
        self.root.chmod(0o755)
        config, home = self.root / "config", self.root / "home"
        config.mkdir(mode=0o755, parents=True)
        home.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(home, nobody.pw_uid, nobody.pw_gid)
        for pre in Path("/etc/spamassassin").glob("*.pre"):
            shutil.copy(pre, config)
        (config / "local.cf").write_text(
            "use_bayes 0\nbayes_auto_learn 0\nskip_rbl_checks 1\ndns_available no\n"
        )
        self.log = open(self.root / "spamd.log", "wb")  # noqa: SIM115 - closed in stop()
        command = [
            self.spamd, "--local", "--nouser-config", "--listen", f"127.0.0.1:{self.port}",
            "--max-children", "1", "--helper-home-dir", str(home),
            f"--siteconfigpath={config}", "--syslog", "stderr",
        ]  # fmt: skip
        if os.geteuid() == 0:
            command += ["--username", "nobody"]
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if b"server started" in (self.root / "spamd.log").read_bytes():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("spamd did not start: " + (self.root / "spamd.log").read_text())

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.log.close()
