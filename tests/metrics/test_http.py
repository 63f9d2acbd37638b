"""`/metrics` on the HTTP server: not there without `--metrics` (a JSON 404), behind
`--http-auth` like every other route, and refused without the HTTP server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from postier.server.accounts import hash_password
from tests.metrics.scrape import api, basic, fetch, json_of, scrape, send, value
from tests.support.server import ServerProcess

PASSWORD = "correct horse"


def test_off_by_default(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "store", "--http-port", "0") as server:
        status, content_type, body = fetch(api(server) + "/metrics")
    assert status == 404
    assert content_type.startswith("application/json")
    assert "Error" in json_of(body)


def test_behind_http_auth(tmp_path: Path) -> None:
    users = tmp_path / "http-users"
    users.write_text(f"ann:{hash_password(PASSWORD, cost=10)}\n")
    arguments = ("--http-port", "0", "--metrics", "--http-auth", str(users))
    with ServerProcess(tmp_path / "store", *arguments) as server:
        send(server, "one@example.org")
        url = api(server) + "/metrics"
        status, _, body = fetch(url)
        assert status == 401
        assert json_of(body) == {"Error": "authentication required"}
        assert fetch(url, basic("ann", "wrong"))[0] == 401
        samples = scrape(server, basic("ann", PASSWORD))
    assert value(samples, "postier_smtp_messages_accepted_total") == 1


def test_needs_the_http_server(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "postier", "serve", "--port", "0",
        "--store", str(tmp_path / "store"), "--metrics", "--no-http",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert "--metrics is served by the HTTP API" in done.stderr
