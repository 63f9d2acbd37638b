"""Fixtures for the client's tests: peers on loopback, each stopped at the end, and the CLI."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from postier.cli import main
from tests.client.servers import (
    BackgroundLoop,
    CountingProxy,
    LoopbackController,
    RecordingHandler,
    ScriptedServer,
    authenticator,
    server_context,
)
from tests.support.tls import TlsFiles


@pytest.fixture
def background() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    try:
        yield loop
    finally:
        loop.stop()


@dataclass
class Smtpd:
    """A running aiosmtpd and the handler that records what it received."""

    controller: LoopbackController
    handler: RecordingHandler

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"


StartSmtpd = Callable[..., Smtpd]


@pytest.fixture
def start_smtpd(tls_files: TlsFiles) -> Iterator[StartSmtpd]:
    """Start aiosmtpd on 127.0.0.1 with the options of the test's choosing.

    `starttls=True` offers STARTTLS, `implicit_tls=True` speaks TLS from the start,
    `auth=True` offers AUTH PLAIN, LOGIN and CRAM-MD5 (in clear too); other keywords
    go to aiosmtpd's SMTP class.
    """
    started: list[LoopbackController] = []

    def start(
        handler: RecordingHandler | None = None,
        *,
        starttls: bool = False,
        implicit_tls: bool = False,
        auth: bool = False,
        **options: Any,
    ) -> Smtpd:
        handler = handler or RecordingHandler()
        context = server_context(str(tls_files.pem))
        if starttls:
            options["tls_context"] = context
        if implicit_tls:
            options["ssl_context"] = context
        if auth:
            options.update(authenticator=authenticator, auth_require_tls=False)
        controller = LoopbackController(
            handler, hostname="127.0.0.1", port=0, server_hostname="mx.test", **options
        )
        controller.start()
        started.append(controller)
        return Smtpd(controller, handler)

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()


StartScripted = Callable[..., ScriptedServer]


@pytest.fixture
def scripted(background: BackgroundLoop) -> Iterator[StartScripted]:
    """`scripted(EHLO=b"502 ...\\r\\n", ...)`: a scripted server, stopped at the end."""
    servers: list[ScriptedServer] = []

    def start(**script: bytes) -> ScriptedServer:
        server = ScriptedServer(background, **script).start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


StartProxy = Callable[..., CountingProxy]


@pytest.fixture
def counting_proxy(background: BackgroundLoop) -> Iterator[StartProxy]:
    proxies: list[CountingProxy] = []

    def start(port: int, rewrite: Callable[[bytes], bytes] | None = None) -> CountingProxy:
        proxy = CountingProxy(background, ("127.0.0.1", port), rewrite or (lambda d: d))
        proxies.append(proxy.start())
        return proxy

    try:
        yield start
    finally:
        for proxy in proxies:
            proxy.stop()


@dataclass(frozen=True)
class CliResult:
    status: int
    out: str
    err: str


RunCli = Callable[..., CliResult]


@pytest.fixture
def send_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """`send_cli(*args, stdin=b"")`: run `postier send` in this process, as a user would."""
    monkeypatch.delenv("POSTIER_SERVER", raising=False)
    monkeypatch.delenv("POSTIER_AUTH_PASSWORD", raising=False)

    def run(*args: str, stdin: bytes = b"") -> CliResult:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        try:
            status = main(["send", "--timeout", "10", *args])
        except SystemExit as exit:  # argparse's own usage errors
            status = int(exit.code or 0)
        captured = capsys.readouterr()
        return CliResult(status, captured.out, captured.err)

    return run
