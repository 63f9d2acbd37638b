"""The HTTP API in `postier serve` (same process, same loop as SMTP) and `postier web`:
its options, its port, and what happens when the port is taken."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from postier.defaults import DEFAULT_HTTP_PORT
from tests.conftest import StartServer
from tests.store_read.helpers import deliver, plain, send
from tests.support.server import ServerProcess
from tests.web.process import WebProcess

_API = re.compile(r"HTTP API on (https?://\S+?)/;")


def api_url(server: ServerProcess) -> str:
    match = _API.search(server.wait_for_log(r"HTTP API on "))
    assert match is not None
    return match[1]


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_serve_serves_the_api_on_its_loop(start_server: StartServer) -> None:
    server = start_server("--http-port", "0")
    url = api_url(server)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.org", "Hi"
    message.set_content("Sent over SMTP.\n")
    send(server, message, ["b@example.org", "c@example.org"])
    arrived = get_json(f"{url}/api/v1/wait?query=mailbox:c@example.org&timeout=10")
    assert arrived["Subject"] == "Hi"
    assert arrived["Bcc"] == [{"Name": "", "Address": "c@example.org"}]
    assert get_json(f"{url}/api/v1/messages?mailbox=b@example.org")["total"] == 1
    everything = get_json(f"{url}/api/v1/messages")  # one delivery: one entry
    assert everything["total"] == 1
    assert everything["messages"][0]["Bcc"] == [{"Name": "", "Address": "c@example.org"}]
    runtime = get_json(f"{url}/api/v1/info")["RuntimeStats"]
    assert runtime["SMTPAccepted"] == 1
    assert runtime["SMTPAcceptedSize"] > len("Sent over SMTP.")
    assert server.stop() == 0


def test_with_workers_the_first_one_serves_every_message(start_server: StartServer) -> None:
    server = start_server("--workers", "2", "--http-port", "0")
    url = api_url(server)
    assert len(re.findall("HTTP API on", server.log_text())) == 1
    for number in range(6):  # one connection each: the kernel spreads them over both
        send(server, plain(f"Number {number}"), [f"r{number}@example.org"])
    for number in range(6):
        found = get_json(f"{url}/api/v1/wait?query=subject:%22number%20{number}%22&timeout=10")
        assert found["To"] == [{"Name": "", "Address": "alice@example.org"}]
    assert get_json(f"{url}/api/v1/messages")["total"] == 6
    assert len(get_json(f"{url}/api/v1/mailboxes")) == 6
    assert server.stop() == 0


def test_no_http_serves_none(start_server: StartServer) -> None:
    server = start_server("--no-http", "--http-port", "0")
    assert "HTTP API" not in server.log_text()
    assert server.stop() == 0
    assert "HTTP API" not in server.log_text()


def test_a_named_port_that_is_taken_is_an_error(start_server: StartServer, taken: int) -> None:
    with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{taken}"):
        start_server("--http-port", str(taken))


def test_the_default_port_taken_leaves_smtp_running(
    start_server: StartServer, tmp_path: Path
) -> None:
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", DEFAULT_HTTP_PORT))
            holder.listen()
        except OSError:
            pass  # another program has it: taken all the same
        server = start_server("--http-host", "127.0.0.1")
        log = server.wait_for_log("HTTP API not served")
    (line,) = [line for line in log.splitlines() if "HTTP API" in line]
    assert f"127.0.0.1:{DEFAULT_HTTP_PORT}" in line and "--http-port" in line
    send(server, plain(), ["b@example.org"])
    assert server.stop() == 0


def test_postier_web_serves_a_store(tmp_path: Path) -> None:
    store = tmp_path / "mail"
    deliver(store, "maildir", [plain("Archived")], ["alice@example.org"])
    process = WebProcess(store).start()
    try:
        listing = get_json(f"{process.url}/api/v1/messages")
        assert [m["Subject"] for m in listing["messages"]] == ["Archived"]
        assert get_json(f"{process.url}/api/v1/mailboxes")[0]["Address"] == "alice@example.org"
    finally:
        assert process.stop() == 0


def run_web(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postier", "web", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_postier_web_refuses_a_missing_store(tmp_path: Path) -> None:
    done = run_web("--store", str(tmp_path / "none"), "--http-port", "0")
    assert done.returncode == 1
    assert done.stderr.startswith(f"postier: no store at {tmp_path / 'none'}: give --store DIR")


def test_postier_web_port_from_the_environment(tmp_path: Path, taken: int) -> None:
    store = tmp_path / "mail"
    deliver(store, "mbox", [plain()], ["alice@example.org"])
    done = run_web("--store", str(store), env={**os.environ, "POSTIER_HTTP_PORT": str(taken)})
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken}" in done.stderr
    bad = run_web("--store", str(store), env={**os.environ, "POSTIER_HTTP_PORT": "http"})
    assert bad.returncode == 2
    assert "POSTIER_HTTP_PORT" in bad.stderr
