"""Peers for the client's tests, all on 127.0.0.1: aiosmtpd, a scripted server, a counting proxy.

Each runs its own event loop in a thread and is stopped for sure by its fixture, so a
test can drive the client with `asyncio.run` or through the CLI as a user would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER = "alice"
PASSWORD = "s3cret-pässword"
CRAM_CHALLENGE = b"<1896.697170952@mx.test>"

T = TypeVar("T")

_CLOSING_ITERATIONS = 3


class BackgroundLoop:
    """An event loop in a thread of its own; `stop()` ends every task and the thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Transports closed by those tasks close their sockets in callbacks run on
            # the next iterations; stopping before them leaves sockets to the garbage
            # collector, whose ResourceWarning fails the test that happens to be running.
            for _ in range(_CLOSING_ITERATIONS):
                await asyncio.sleep(0)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# --- aiosmtpd --------------------------------------------------------------------------------


@dataclass
class Received:
    """One message as aiosmtpd handed it over."""

    sender: str
    recipients: list[str]
    content: bytes
    mail_options: list[str]


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps every message and refuses what a test asks it to."""

    messages: list[Received] = field(default_factory=list)
    refuse_sender: str | None = None
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    cram_logins: list[bytes] = field(default_factory=list)
    """Users that passed CRAM-MD5 (not named auth_*: aiosmtpd takes those as mechanisms)."""

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.refuse_sender:
            return "550 5.7.1 sender not welcome"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.original_content or b""
        assert isinstance(content, bytes)
        self.messages.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                content,
                list(envelope.mail_options),
            )
        )
        return "250 2.0.0 queued"

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        """CRAM-MD5 (RFC 2195), which aiosmtpd does not provide itself."""
        response = await server.challenge_auth(CRAM_CHALLENGE)
        if not isinstance(response, bytes):
            return AuthResult(success=False, handled=False)
        user, _, digest = response.partition(b" ")
        expected = hmac.new(PASSWORD.encode(), CRAM_CHALLENGE, hashlib.md5).hexdigest()
        ok = user == USER.encode() and hmac.compare_digest(digest, expected.encode())
        if ok:
            self.cram_logins.append(user)
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user, b""))


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accept USER with PASSWORD, by PLAIN or LOGIN."""
    assert isinstance(auth_data, LoginPassword)
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself


class LoopbackController(Controller):
    """aiosmtpd's controller on port 0: the port the system picked is read before use."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


# --- a scripted server ---------------------------------------------------------------------

CLOSE = b"<close>"
"""A scripted answer that closes the connection instead of replying."""
SILENCE = b""
"""A scripted answer that says nothing (a stalled server)."""

DEFAULT_SCRIPT: dict[str, bytes] = {
    "GREETING": b"220 scripted.test ESMTP\r\n",
    "EHLO": b"250-scripted.test\r\n250 8BITMIME\r\n",
    "HELO": b"250 scripted.test\r\n",
    "MAIL": b"250 2.1.0 ok\r\n",
    "RCPT": b"250 2.1.5 ok\r\n",
    "DATA": b"354 go on\r\n",
    "MESSAGE": b"250 2.0.0 ok\r\n",
    "RSET": b"250 2.0.0 ok\r\n",
    "NOOP": b"250 2.0.0 ok\r\n",
    "QUIT": b"221 2.0.0 bye\r\n",
}


class ScriptedServer:
    """Answers each command with the script's bytes for its verb; records every line.

    Script keys are verbs, plus GREETING and MESSAGE (the end of data); the values
    may also be `CLOSE` or `SILENCE`. The message data is read up to its lone ".".
    """

    def __init__(self, background: BackgroundLoop, **script: bytes) -> None:
        self.script = {**DEFAULT_SCRIPT, **script}
        self.lines: list[bytes] = []
        self._background = background
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> ScriptedServer:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)

        self._server = self._background.run(start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        server = self._server
        if server is not None:
            self._background.loop.call_soon_threadsafe(server.close)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not await self._say(writer, self.script["GREETING"]):
                return
            in_data = False
            while line := await reader.readline():
                self.lines.append(line)
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        if not await self._say(writer, self.script["MESSAGE"]):
                            return
                    continue
                verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
                answer = self.script.get(verb, b"500 5.5.1 unknown\r\n")
                if not await self._say(writer, answer):
                    return
                in_data = verb == "DATA" and answer.startswith(b"354")
                if verb == "QUIT":
                    return
        finally:
            writer.close()

    @staticmethod
    async def _say(writer: asyncio.StreamWriter, answer: bytes) -> bool:
        """Write the answer; False when the script says to close."""
        if answer == CLOSE:
            return False
        if answer:
            writer.write(answer)
            await writer.drain()
        return True


# --- a proxy that counts round trips --------------------------------------------------------


class CountingProxy:
    """Forwards 127.0.0.1:port to a server, recording who sent what, in order.

    `round_trips` counts the client's turns: runs of client data with no server data
    between them. A pipelined MAIL, RCPTs and DATA are one turn (RFC 2920); sent one
    by one, they are one turn each. `rewrite` may change what the server sends.
    """

    def __init__(
        self,
        background: BackgroundLoop,
        target: tuple[str, int],
        rewrite: Callable[[bytes], bytes] = lambda data: data,
    ) -> None:
        self.target = target
        self.rewrite = rewrite
        self.turns: list[str] = []
        self._background = background
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> CountingProxy:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)

        self._server = self._background.run(start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        server = self._server
        if server is not None:
            self._background.loop.call_soon_threadsafe(server.close)

    @property
    def round_trips(self) -> int:
        runs = 0
        previous = ""
        for who in self.turns:
            if who == "C" and previous != "C":
                runs += 1
            previous = who
        return runs

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except BaseException:  # refused, or cancelled by the loop's stop: close our side
            writer.close()
            raise
        await asyncio.gather(
            self._pump(reader, up_writer, "C", lambda data: data),
            self._pump(up_reader, writer, "S", self.rewrite),
        )

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        who: str,
        change: Callable[[bytes], bytes],
    ) -> None:
        try:
            while data := await source.read(65536):
                self.turns.append(who)
                sink.write(change(data))
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


def server_context(pem: str) -> ssl.SSLContext:
    """A server context with the trustme certificate in `pem` (key and chain)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    return context
