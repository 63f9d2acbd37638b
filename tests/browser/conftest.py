"""Fixtures for the page's tests in a real browser: Debian's chromium driven by
Playwright (never a browser download), a fresh profile each test, and a real
`postier serve` (SMTP and HTTP) on loopback.

Every page is watched: a dialog (`alert`, `confirm`, `prompt`) is recorded and
dismissed, a script error of the page is recorded, and a request to anything but
loopback is recorded and refused, so a test can assert that none happened.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.server import ServerProcess
from tests.support.tools import require_tool

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SCREENSHOTS = Path(os.environ.get("POSTIER_SCREENSHOTS", "screenshots"))
"""Where the tests leave their screenshots (kept out of git)."""
_HTTP = re.compile(r"HTTP API on (http://\S+?)/;")


@dataclass
class Watch:
    """What the pages of one browser did that a test may forbid."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    """Requests the browser itself stopped before the network, and why."""

    def page(self, page: Any) -> None:
        def dialog(shown: Any) -> None:
            self.dialogs.append(f"{shown.type}: {shown.message}")
            shown.dismiss()

        page.on("dialog", dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda socket: self.sockets.append(socket.url))
        page.on(
            "requestfailed", lambda request: self.refused.update({request.url: request.failure})
        )

    def _failed(self, request: Any) -> None:
        self.refused[request.url] = request.failure

    def route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.remote.append(url)
            route.abort()

    def assert_harmless(self) -> None:
        """No dialog, no script error, and nothing asked of anything but loopback: a
        request the page's policies refused (the browser reports it, as failed with
        `csp`, before any network) is no request."""
        assert self.dialogs == []
        assert self.errors == []
        assert self.remote == []
        off = [url for url in self.requests if urlsplit(url).hostname not in LOOPBACK]
        off = [url for url in off if not url.startswith(("data:", "about:", "blob:"))]
        assert [url for url in off if self.refused.get(url) != "csp"] == []
        assert [url for url in self.sockets if urlsplit(url).hostname not in LOOPBACK] == []


@dataclass
class Postier:
    """The server the page talks to: its page's URL, SMTP address and store."""

    process: ServerProcess
    url: str
    store: Path

    def send(
        self,
        subject: str,
        *,
        to: str = "alice@example.org",
        text: str = "Hello.\n",
        html: str | None = None,
        sender: str = "Sender <sender@example.com>",
        message: EmailMessage | None = None,
    ) -> None:
        if message is None:
            message = EmailMessage()
            message["From"] = sender
            message["To"] = to
            message["Subject"] = subject
            message.set_content(text)
            if html is not None:
                message.add_alternative(html, subtype="html")
        with smtplib.SMTP(*self.process.address, timeout=10) as client:
            client.send_message(message)

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def ids(self) -> list[str]:
        return [item["ID"] for item in self.api("/api/v1/messages?limit=0")["messages"]]

    def cli(self, *args: str) -> str:
        """`postier ARGS --store STORE`, as a person would run it beside the server."""
        done = subprocess.run(
            [sys.executable, "-m", "postier", *args, "--store", str(self.store)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def postier(tmp_path: Path) -> Iterator[Postier]:
    store = tmp_path / "mail"
    process = ServerProcess(store, "--http-host", "127.0.0.1", "--http-port", "0")
    with process:
        match = _HTTP.search(process.wait_for_log(_HTTP.pattern))
        assert match is not None
        yield Postier(process, match[1], store)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def locale() -> str:
    """The browser's language (`navigator.languages`, Accept-Language); a test may
    parametrize it. English unless told, whatever the machine's own."""
    return "en-US"


@pytest.fixture
def context(tmp_path: Path, watch: Watch, locale: str) -> Iterator[Any]:
    """A browser with a profile of its own (`--user-data-dir` under the test's tmp)."""
    chromium = require_tool("chromium", "chromium")
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 860},
            locale=locale,
            service_workers="block",
        )
        try:
            browser.set_default_timeout(10_000)
            browser.route("**/*", watch.route)
            browser.on("page", watch.page)
            for page in browser.pages:
                watch.page(page)
            yield browser
        finally:
            browser.close()


def open_page(context: Any, postier: Postier) -> Any:
    """A tab on the page, once it is live (its lists asked after the socket opened)."""
    page = context.pages[0] if context.pages and context.pages[0].url == "about:blank" else None
    if page is None:
        page = context.new_page()
    page.goto(postier.url + "/")
    playwright_api.expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    return page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
