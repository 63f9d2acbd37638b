"""`GET /api/v1/message/{ID}/sa-check` against a real SpamAssassin daemon of its own on
loopback (`spamd --local`: no DNS, no network tests): Mailpit's `SpamAssassinResponse`
for a spammy and a plain message; a daemon that is down or hangs named in `Error`
within the timeout; without --spamd the check says it is off."""

from __future__ import annotations

import json
import re
import smtplib
import socket
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from postier.checks import ChecksConfig, SpamdAddress
from postier.cli.serve import settings_from
from postier.cli.serve_checks import host_port
from postier.server.process import checks_config
from tests.checks.peers import Spamd, free_port, http_server
from tests.store_read.helpers import deliver, plain
from tests.support.server import ServerProcess
from tests.support.tools import require_tool
from tests.web.conftest import Api, ApiFor
from tests.web.npm_call import npm_call

SPAMMY = (
    "Buy viagra cheap now! Make money fast, 100% free, click here, act now.\n"
    "Viagra, cialis, levitra at discount prices.\n"
)
KEYS = {"IsSpam", "Error", "Score", "Rules"}


@pytest.fixture(scope="module")
def spamd() -> Iterator[Spamd]:
    path = require_tool("spamd", "spamd")
    # Not under pytest's own temporary directory: that one is the test user's alone.
    with tempfile.TemporaryDirectory(prefix="postier-spamd-") as root:
        daemon = Spamd(path, Path(root)).start()
        try:
            yield daemon
        finally:
            daemon.stop()


def opened(store: Path, api_for: ApiFor, body: str, spamd: SpamdAddress | None) -> Api:
    deliver(store, "mbox", [plain("Offer", body)])
    return api_for(store, checks=ChecksConfig(spamd=spamd))


def sa_check(api: Api) -> dict[str, object]:
    reply = api.get("/api/v1/message/latest/sa-check")
    assert reply.status == 200, reply.text
    body: dict[str, object] = reply.json()
    assert set(body) == KEYS
    return body


@pytest.mark.slow
def test_a_spammy_message(store: Path, api_for: ApiFor, spamd: Spamd) -> None:
    address = SpamdAddress("127.0.0.1", spamd.port, timeout=60)
    body = sa_check(opened(store, api_for, SPAMMY, address))
    assert body["Error"] == ""
    rules = body["Rules"]
    assert isinstance(rules, list) and rules
    names = {rule["Name"] for rule in rules}
    assert "DRUGS_ERECTILE" in names
    for rule in rules:
        assert set(rule) == {"Score", "Name", "Description"} and rule["Description"]
    assert isinstance(body["Score"], float)
    assert body["Score"] == pytest.approx(sum(rule["Score"] for rule in rules), abs=0.3)
    assert body["IsSpam"] is (body["Score"] >= 5.0)


@pytest.mark.slow
def test_a_plain_message(store: Path, api_for: ApiFor, spamd: Spamd) -> None:
    address = SpamdAddress("127.0.0.1", spamd.port, timeout=60)
    body = sa_check(opened(store, api_for, "Lunch at noon tomorrow?\n", address))
    assert body["Error"] == "" and body["IsSpam"] is False
    assert isinstance(body["Score"], float) and body["Score"] < 5.0


def test_a_daemon_that_is_down(store: Path, api_for: ApiFor) -> None:
    port = free_port()
    body = sa_check(opened(store, api_for, "hi\n", SpamdAddress("127.0.0.1", port, 5)))
    assert body["IsSpam"] is False and body["Rules"] == [] and body["Score"] == 0
    assert str(body["Error"]).startswith(f"spamd at 127.0.0.1:{port}: ")


def test_a_daemon_that_hangs(store: Path, api_for: ApiFor) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
        thread.start()
        port = listener.getsockname()[1]
        try:
            body = sa_check(opened(store, api_for, "hi\n", SpamdAddress("127.0.0.1", port, 1)))
        finally:
            thread.join(10)
            for connection in accepted:
                connection.close()
    assert body["Error"] == f"spamd at 127.0.0.1:{port} took over 1 s"


def test_without_spamd_the_check_is_off(store: Path, api_for: ApiFor) -> None:
    api = opened(store, api_for, "hi\n", None)
    reply = api.get("/api/v1/message/latest/sa-check")
    assert reply.status == 404
    assert reply.json() == {
        "Error": "the spam check is off: start postier serve with --spamd HOST:PORT"
    }
    assert api.get("/api/v1/webui").json()["SpamAssassin"] is False


def test_with_spamd_the_page_is_told(store: Path, api_for: ApiFor) -> None:
    api = opened(store, api_for, "hi\n", SpamdAddress("127.0.0.1", 1))
    assert api.get("/api/v1/webui").json()["SpamAssassin"] is True


def test_the_options(tmp_path: Path) -> None:
    import argparse

    from postier.cli import build_parser

    args = build_parser().parse_args(
        ["serve", "--store", str(tmp_path), "--spamd", "127.0.0.1:783", "--spamd-timeout",
         "3", "--link-check", "--link-check-private", "--link-check-timeout", "2"]
    )  # fmt: skip
    checks = checks_config(settings_from(args))
    assert checks.spamd == SpamdAddress("127.0.0.1", 783, 3.0)
    assert checks.links.enabled and checks.links.allow_private and checks.links.timeout == 2
    default = settings_from(build_parser().parse_args(["serve", "--store", str(tmp_path)]))
    assert checks_config(default) == ChecksConfig()
    for wrong in ("localhost", "host:0", ":783", "host:port"):
        with pytest.raises(argparse.ArgumentTypeError):
            host_port(wrong)


HTTP = re.compile(r"HTTP API on (http://\S+?)/;")


@pytest.mark.slow
def test_postier_serve_with_spamd_and_link_check(tmp_path: Path, spamd: Spamd) -> None:
    """The options end to end: a message over SMTP, its spam check and its links."""
    store = tmp_path / "mail"
    args = ("--http-host", "127.0.0.1", "--http-port", "0", "--spamd", f"127.0.0.1:{spamd.port}")
    with ServerProcess(store, *args, "--spamd-timeout", "60", "--link-check") as process:
        match = HTTP.search(process.wait_for_log(HTTP.pattern))
        assert match is not None
        message = plain("Offer", SPAMMY + f"See http://127.0.0.1:{free_port()}/x\n")
        with smtplib.SMTP(*process.address, timeout=10) as client:
            client.send_message(message, "s@example.com", ["alice@example.org"])
        base = match[1] + "/api/v1/message/latest"
        with urllib.request.urlopen(base + "/sa-check", timeout=90) as reply:
            verdict = json.loads(reply.read())
        assert verdict["Error"] == "" and "DRUGS_ERECTILE" in {r["Name"] for r in verdict["Rules"]}
        with urllib.request.urlopen(base + "/link-check", timeout=30) as reply:
            links = json.loads(reply.read())
        (link,) = links["Links"]
        assert link["StatusCode"] == 0 and link["Status"].startswith("refused: ")


@pytest.mark.slow
@pytest.mark.interop
def test_the_npm_client_reads_the_three_checks(tmp_path: Path, spamd: Spamd) -> None:
    """npm's `mailpit-api`, unchanged: `htmlCheck`, `linkCheck(id, follow)` and
    `spamAssassinCheck` against `postier serve`, each answer in the shape it expects."""
    with http_server() as site:
        site.redirects["/moved"] = "/ok"
        args = (
            "--http-host", "127.0.0.1", "--http-port", "0", "--spamd",
            f"127.0.0.1:{spamd.port}", "--spamd-timeout", "60", "--link-check",
            "--link-check-private",
        )  # fmt: skip
        with ServerProcess(tmp_path / "mail", *args) as process:
            match = HTTP.search(process.wait_for_log(HTTP.pattern))
            assert match is not None
            message = EmailMessage()
            message["Subject"], message["From"] = "Checked", "s@example.com"
            message.set_content(SPAMMY)
            message.add_alternative(
                f"<html><body style='display:flex'><a href='{site.base}/moved'>go</a>"
                f"<a href='{site.base}/500'>broken</a></body></html>",
                subtype="html",
            )
            with smtplib.SMTP(*process.address, timeout=10) as client:
                client.send_message(message, "s@example.com", ["alice@example.org"])
            html = npm_call(match[1], "htmlCheck", "latest")
            followed = npm_call(match[1], "linkCheck", "latest", True)
            unfollowed = npm_call(match[1], "linkCheck", "latest", False)
            spam = npm_call(match[1], "spamAssassinCheck", "latest")
    for result in (html, followed, unfollowed, spam):
        assert result["ok"], result
    assert "css-display-flex" in {w["Slug"] for w in html["value"]["Warnings"]}
    assert html["value"]["Total"]["Tests"] > 0
    assert _codes(followed["value"]) == {"moved": 200, "500": 500}
    assert followed["value"]["Errors"] == 1
    assert _codes(unfollowed["value"]) == {"moved": 302, "500": 500}
    assert "DRUGS_ERECTILE" in {rule["Name"] for rule in spam["value"]["Rules"]}
    assert spam["value"]["IsSpam"] is (spam["value"]["Score"] >= 5.0)


def _codes(check: dict[str, Any]) -> dict[str, int]:
    """Each link's status code, by the last part of its path."""
    return {link["URL"].rsplit("/", 1)[1]: link["StatusCode"] for link in check["Links"]}
