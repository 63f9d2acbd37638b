"""`--http-auth`, `--http-tls` and the `Host` check through `postier serve` and
`postier web`, as a user starts them."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from postier.server.accounts import hash_password
from tests.conftest import StartServer
from tests.store_read.helpers import deliver, plain, send
from tests.support.tls import make_tls_files
from tests.web.process import WebProcess
from tests.web.test_serve import api_url, run_web

ALICE = "alice@example.org"
PASSWORD = "s3cret"


def call(
    url: str, *, headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            body = response.read()
            return response.status, dict(response.headers), json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read())


def login(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "http-users"
    path.write_text(f"ann:{hash_password(PASSWORD, cost=10)}\n")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    store = tmp_path / "mail"
    deliver(store, "mbox", [plain("Kept")], [ALICE])
    return store


def assert_guarded(url: str, context: ssl.SSLContext | None = None) -> None:
    status, headers, body = call(f"{url}/api/v1/messages", context=context)
    assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="postier"')
    assert body == {"Error": "authentication required"}
    status, _, body = call(f"{url}/api/v1/messages", headers=login("ann", "no"), context=context)
    assert status == 401
    status, _, body = call(
        f"{url}/api/v1/messages", headers=login("ann", PASSWORD), context=context
    )
    assert (status, body["messages"][0]["Subject"]) == (200, "Kept")
    assert call(f"{url}/livez", context=context)[0] == 200
    assert call(f"{url}/readyz", context=context)[0] == 200


def test_web_with_http_auth(store: Path, users: Path) -> None:
    process = WebProcess(store, "--http-auth", str(users), "--auth-failure-delay", "0.05")
    process.start()
    try:
        assert "login required" in process.log_text()
        assert_guarded(process.url)
        assert "HTTP authentication failed for 'ann'" in process.log_text()
        assert PASSWORD not in process.log_text()
    finally:
        assert process.stop() == 0


def test_serve_with_http_auth_and_tls(
    start_server: StartServer, tmp_path: Path, users: Path
) -> None:
    tls = make_tls_files(tmp_path)
    server = start_server(
        "--http-port", "0", "--http-auth", str(users), "--auth-failure-delay", "0.05",
        "--tls-cert", str(tls.pem), "--http-tls",
    )  # fmt: skip
    url = api_url(server)
    assert url.startswith("https://127.0.0.1:")
    send(server, plain("Kept"), [ALICE])
    assert_guarded(url, tls.client_context())
    with pytest.raises(urllib.error.URLError):  # a client that does not trust it
        call(f"{url}/livez", context=ssl.create_default_context())
    plain_url = url.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        call(f"{plain_url}/livez")
    assert server.stop() == 0


def test_web_with_tls(store: Path, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    process = WebProcess(store, "--tls-cert", str(tls.pem), "--http-tls").start()
    try:
        assert process.url.startswith("https://")
        status, _, body = call(f"{process.url}/api/v1/messages", context=tls.client_context())
        assert (status, body["total"]) == (200, 1)
    finally:
        assert process.stop() == 0


def test_http_tls_without_a_certificate_is_an_error(start_server: StartServer, store: Path) -> None:
    with pytest.raises(RuntimeError, match="--http-tls needs --tls-cert"):
        start_server("--http-port", "0", "--http-tls")
    done = run_web("--store", str(store), "--http-port", "0", "--http-tls")
    assert (done.returncode, done.stderr) == (1, "postier: --http-tls needs --tls-cert\n")


def test_a_password_file_that_cannot_be_read_is_an_error(
    start_server: StartServer, store: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nobody"
    with pytest.raises(RuntimeError, match="--http-auth: cannot read the password file"):
        start_server("--http-port", "0", "--http-auth", str(missing))
    done = run_web("--store", str(store), "--http-port", "0", "--http-auth", str(missing))
    assert done.returncode == 1
    assert "--http-auth: cannot read the password file" in done.stderr


def test_the_host_check(store: Path) -> None:
    process = WebProcess(store).start()
    try:
        port = process.url.rsplit(":", 1)[1]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]"):
            assert call(f"{process.url}/api/v1/info", headers={"Host": host})[0] == 200
        status, _, body = call(f"{process.url}/api/v1/info", headers={"Host": "evil.example"})
        assert status == 403
        assert "evil.example" in body["Error"]
    finally:
        assert process.stop() == 0
    allowing = WebProcess(store, "--http-allow-host", "mail.test,evil.example").start()
    try:
        for host in ("evil.example", "mail.test:8025"):
            assert call(f"{allowing.url}/api/v1/info", headers={"Host": host})[0] == 200
        assert call(f"{allowing.url}/api/v1/info", headers={"Host": "other.example"})[0] == 403
    finally:
        assert allowing.stop() == 0


def test_serve_allows_hosts_from_the_environment(start_server: StartServer) -> None:
    server = start_server("--http-port", "0", env={"POSTIER_HTTP_ALLOW_HOST": "dev.test"})
    url = api_url(server)
    assert call(f"{url}/api/v1/info", headers={"Host": "dev.test:1"})[0] == 200
    assert call(f"{url}/api/v1/info", headers={"Host": "evil.test"})[0] == 403
    assert server.stop() == 0
