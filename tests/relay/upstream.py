"""What the relay tests share: an aiosmtpd upstream with scripted replies, a relaying
`postier serve`, `postier queue` read as JSON, and bounded polling."""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.client.servers import (
    LoopbackController,
    Received,
    RecordingHandler,
    authenticator,
    server_context,
)
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles

OUT = r".*@out\.test"
"""The `--relay-match` of most tests: recipients at out.test go upstream."""
HOLD_FOR = 20.0
"""Seconds at most a held DATA waits (postier's own timeout for a reply is 60)."""
TOKEN = re.compile(rb"token-[0-9a-z]+-\d+")


@dataclass
class ScriptedHandler(RecordingHandler):
    """A `RecordingHandler` whose RCPT and DATA answer from a script first: each reply
    of `rcpt_script` / `data_script` is used once, in order, then 250 as usual
    (`data_forever` answers every DATA so). `data_delay` seconds pass in each DATA before
    the answer (a slow upstream). Once the DATA script is spent, each DATA waits for
    `hold` to be set, when there is one (up to `HOLD_FOR`s): the test looks meanwhile.
    Every end of data is counted in `data_seen`."""

    rcpt_script: list[str] = field(default_factory=list)
    data_script: list[str] = field(default_factory=list)
    data_forever: str | None = None
    data_delay: float = 0.0
    hold: threading.Event | None = None
    data_seen: list[bytes] = field(default_factory=list)
    """The content of every end of data, answered 250 or not."""
    sessions: list[tuple[bool, bool]] = field(default_factory=list)
    """(over TLS, authenticated) of the session of each message taken."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_script:
            return self.rcpt_script.pop(0)
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        assert isinstance(content, bytes)
        self.data_seen.append(content)
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_script:
            return self.data_script.pop(0)
        if self.hold is not None:
            deadline = time.monotonic() + HOLD_FOR
            while not self.hold.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        if self.data_forever is not None:
            return self.data_forever
        transport = server.transport
        encrypted = transport is not None and transport.get_extra_info("ssl_object") is not None
        self.sessions.append((encrypted, bool(session.authenticated)))
        return await super().handle_DATA(server, session, envelope)


class Upstream:
    """aiosmtpd on 127.0.0.1:`port` (0: any) with `handler`, started by `with` or
    `start()`, stopped for sure; `tls` offers STARTTLS, or (`implicit`) speaks TLS from
    the first byte, with the trustme certificate; `auth` takes the tests' USER and
    PASSWORD (only over TLS)."""

    def __init__(
        self,
        handler: ScriptedHandler | None = None,
        port: int = 0,
        *,
        tls: TlsFiles | None = None,
        implicit: bool = False,
        auth: bool = False,
    ) -> None:
        self.handler = handler or ScriptedHandler()
        options: dict[str, Any] = {"enable_SMTPUTF8": True}
        if tls is not None:
            context = server_context(str(tls.pem))
            options["ssl_context" if implicit else "tls_context"] = context
        if auth:
            options["authenticator"] = authenticator
            # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS too.
            options["auth_require_tls"] = not implicit
        self._controller = LoopbackController(
            self.handler, hostname="127.0.0.1", port=port, server_hostname="up.test", **options
        )
        self._running = False

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> Upstream:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def relaying(store: Path, port: int, *args: str, match: str | None = OUT) -> ServerProcess:
    """`postier serve` relaying `match` to 127.0.0.1:`port`, retrying after 1 s."""
    options = ["--relay", f"127.0.0.1:{port}", "--relay-retry", "1", *args]
    if match is not None:
        options += ["--relay-match", match]
    return ServerProcess(store, *options)


def postier(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postier", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def queue_json(store: Path, *extra: str) -> list[dict[str, Any]]:
    """`postier queue --json` (or `--dropped --json`) parsed."""
    listed = postier("queue", "--store", str(store), "--json", *extra)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert isinstance(found, list)
    return found


def wait_until(condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll `condition` until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)


def send(
    server: ServerProcess,
    recipients: Sequence[str],
    data: bytes,
    *,
    sender: str = "me@here.test",
    options: Sequence[str] = (),
) -> None:
    """One message through a connection of its own; every recipient must be accepted."""
    with smtplib.SMTP(*server.address, timeout=30) as client:
        refused = client.sendmail(sender, list(recipients), data, mail_options=list(options))
    assert refused == {}


def send_raw(server: ServerProcess, recipient: str, wire: bytes) -> bytes:
    """One message whose DATA is `wire` as it is (its end included, nothing stuffed);
    the reply to the end of data."""
    with socket.create_connection(server.address, timeout=30) as conn, conn.makefile("rb") as f:

        def say(line: bytes) -> bytes:
            if line:
                conn.sendall(line)
            reply = f.readline()
            while reply[3:4] == b"-":
                reply = f.readline()
            return reply

        assert say(b"").startswith(b"220")
        for command in (
            b"EHLO client.test",
            b"MAIL FROM:<me@here.test>",
            b"RCPT TO:<" + recipient.encode() + b">",
        ):
            assert say(command + b"\r\n").startswith(b"250"), command
        assert say(b"DATA\r\n").startswith(b"354")
        answer = say(wire)
        say(b"QUIT\r\n")
    return answer


def tokened(token: str) -> bytes:
    """A small message carrying `token` in its Subject and its body."""
    return f"Subject: {token}\r\nFrom: me@here.test\r\n\r\nbody of {token}\r\n".encode()


def tokens_of(messages: Sequence[Received]) -> list[bytes]:
    """The token of each message (from its Subject), in the order they arrived."""
    found: list[bytes] = []
    for message in messages:
        match = TOKEN.search(message.content)
        assert match is not None, message.content[:200]
        found.append(match.group(0))
    return found
