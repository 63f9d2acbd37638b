"""`Client`: send mail with asyncio; the protocol core reads each reply and decides the next step.

async with Client("mx.example", 587, security="starttls") as client:
    await client.login("me", "secret")
    result = await client.send_message(message)
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from email.message import EmailMessage
from types import MappingProxyType, TracebackType
from typing import IO

from postier.client.errors import (
    AuthenticationError,
    ClientError,
    NotSupportedError,
    ProtocolViolationError,
    RefusedError,
    ServiceRefusedError,
    TlsError,
)
from postier.client.message import pieces, prepare, read_pieces
from postier.client.outcome import SendResult, closed_error, expect, refusal_error
from postier.client.tls import Security, client_context, describe
from postier.client.transcript import Transcript
from postier.client.transport import Connection
from postier.defaults import DEFAULT_PORT
from postier.protocol.smtp import (
    HELO_ONLY,
    IDLE,
    NEED_DATA,
    Auth,
    Authenticated,
    Awaited,
    Capabilities,
    ClientConnection,
    ClientEvent,
    ClientGreeted,
    Closed,
    DataReady,
    Done,
    Greeting,
    Mail,
    OutgoingEnvelope,
    Party,
    Refused,
    RemoteProtocolError,
    Reply,
    TlsReady,
    TransactionDone,
    TransactionResult,
    is_domain,
    refusal_before_sending,
)
from postier.protocol.smtp import sasl_client as auth

DEFAULT_TIMEOUT = 30.0
"""Seconds each step may take: connecting, each reply, each write, the TLS handshake."""
IMPLICIT_TLS_PORT = 465  # RFC 8314 §7.3: submissions


class Client:
    """One SMTP connection: connect, EHLO (HELO fallback), STARTTLS, AUTH, send, QUIT.

    Every step has `timeout` seconds. With `security="starttls"` a server that does
    not offer STARTTLS is an error, never a silent fall back to clear text.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        *,
        security: Security | str = Security.NONE,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        local_hostname: str | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.security = Security(security)
        self.host = host
        implicit = self.security is Security.TLS
        self.port = port if port is not None else IMPLICIT_TLS_PORT if implicit else DEFAULT_PORT
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.transcript = transcript
        self._ssl_context = ssl_context
        self._link: Connection | None = None
        self._conn: ClientConnection | None = None

    # --- what the connection is -------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return self._conn.capabilities if self._conn else HELO_ONLY

    @property
    def encrypted(self) -> bool:
        return self._link is not None and self._link.encrypted

    @property
    def peer_is_loopback(self) -> bool:
        return self._link is not None and self._link.peer_is_loopback

    @property
    def authenticated(self) -> bool:
        return self._conn is not None and self._conn.authenticated

    # --- the dialogue ---------------------------------------------------------------------

    async def connect(self) -> Capabilities:
        """Connect, read the greeting, say EHLO, and start TLS as `security` asks."""
        if self._link is not None:
            raise RuntimeError("already connected")
        implicit = self._context() if self.security is Security.TLS else None
        try:
            self._link = await Connection.open(self.host, self.port, self.timeout, implicit)
        except ssl.SSLError as exc:
            raise TlsError(describe(exc, self.host)) from None
        over = f" over {self._link.tls_description()}" if implicit else ""
        self._note(f"connected to {self.host}:{self.port}{over}")
        self._conn = ClientConnection(
            self.local_hostname or _default_name(self._link.local_address),
            tls_active=implicit is not None,
            transcript=self.transcript is not None,
            transcript_data_lines=self.transcript.data_lines if self.transcript else 0,
        )
        try:
            await self._greeting()
            await self._hello()
            offered = self.capabilities.starttls
            if self.security is Security.STARTTLS or (
                self.security is Security.STARTTLS_IF_OFFERED and offered
            ):
                await self.starttls()
        except BaseException:
            await self.close()
            raise
        return self.capabilities

    async def starttls(self, context: ssl.SSLContext | None = None) -> Capabilities:
        """Upgrade to TLS (RFC 3207) and say EHLO again; refused or not offered: `TlsError`."""
        conn, link = self._parts()
        if link.encrypted:
            raise TlsError("TLS is already active")
        if not conn.capabilities.starttls:
            raise TlsError(f"{self.host} does not offer STARTTLS")
        conn.starttls()
        event = await self._next("STARTTLS")
        if isinstance(event, Refused):
            raise TlsError(f"server refused STARTTLS: {event.reply}", event.reply)
        expect(event, TlsReady)
        try:
            await link.start_tls(context or self._context())
        except ssl.SSLError as exc:
            raise TlsError(describe(exc, self.host)) from None
        conn.tls_started()
        self._note(f"TLS started: {link.tls_description()}")
        await self._hello()
        return self.capabilities

    async def login(self, username: str, password: str, *, mechanism: str | None = None) -> Reply:
        """AUTH (RFC 4954) with the best mechanism both sides know, or `mechanism`."""
        conn, link = self._parts()
        offered = conn.capabilities.auth_mechanisms
        name = self._mechanism(offered, mechanism, link.encrypted)
        conn.authenticate(auth.mechanism(name, username, password))
        event = await self._next(Auth(name).line())
        if isinstance(event, Refused):
            raise AuthenticationError(f"authentication failed: {event.reply}", event.reply)
        return expect(event, Authenticated).reply

    async def send_message(
        self,
        message: EmailMessage | bytes,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendResult:
        """Send one message; the result holds each recipient's reply.

        Raises a `RefusedError` when the message went to nobody. Recipients refused
        while others accepted it are in `SendResult.refused`; those the server put off
        with 452 (too many recipients, RFC 5321 §4.5.3.1.10) get another transaction.
        """
        data, envelope = prepare(message, sender, recipients)
        return await self.send_envelope(envelope, lambda: pieces(data))

    async def send_file(self, source: IO[bytes], envelope: OutgoingEnvelope) -> SendResult:
        """Send the message read from `source` (from its start, in pieces: never whole in
        memory) to `envelope`'s recipients; as `send_message` otherwise.

        The data is sent as it is, its line endings made CRLF and its dots stuffed.
        """
        return await self.send_envelope(envelope, lambda: read_pieces(source))

    async def send_envelope(
        self, envelope: OutgoingEnvelope, pieces: Callable[[], Iterable[bytes]]
    ) -> SendResult:
        """Send the data `pieces()` gives (called again for each transaction, from the
        start) to `envelope`'s recipients; as `send_message` otherwise."""
        conn, _ = self._parts()
        early = refusal_before_sending(conn.capabilities, envelope)
        if early is not None:
            raise NotSupportedError(f"cannot send: {early.text}", early, "MAIL")
        accepted: dict[str, Reply] = {}
        refused: dict[str, Reply] = {}
        replies: list[Reply] = []
        while True:
            result = await self._transaction(envelope, pieces())
            failure = result.failure
            if failure is not None:
                if not accepted:
                    raise refusal_error(result, *failure)
                for recipient in envelope.recipients:
                    refused[recipient] = result.refused.get(recipient, failure[2])
                break
            assert result.message_reply is not None  # no failure: the data was answered
            replies.append(result.message_reply)
            accepted.update({r: result.recipient_replies[r] for r in result.accepted})
            retry = result.retry
            refused.update({r: a for r, a in result.refused.items() if r not in retry})
            if not retry:
                break
            envelope = dataclasses.replace(envelope, recipients=retry)
        assert replies
        return SendResult(
            MappingProxyType(accepted), MappingProxyType(refused), replies[-1], tuple(replies)
        )

    async def noop(self) -> Reply:
        return await self._simple(Awaited.NOOP)

    async def rset(self) -> Reply:
        return await self._simple(Awaited.RSET)

    async def quit(self) -> None:
        """Say QUIT when the dialogue allows it, then close; never raises for a bad goodbye."""
        conn, link = self._conn, self._link
        if link is None:
            return
        try:
            if conn is not None and conn.state in IDLE:
                conn.quit()
                await self._next("QUIT", closing=True)
        except ClientError:
            pass  # the message is sent or refused already; a lost goodbye changes nothing
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the connection without QUIT."""
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.quit()

    # --- steps ------------------------------------------------------------------------------

    async def _greeting(self) -> None:
        event = await self._next("the greeting")
        if isinstance(event, Refused):
            await self.quit()  # RFC 5321 §3.1: after a 554 greeting the client sends QUIT
            raise ServiceRefusedError(f"server refused service: {event.reply}", event.reply)
        expect(event, Greeting)

    async def _hello(self) -> None:
        conn, _ = self._parts()
        conn.ehlo()
        event = await self._next("EHLO")
        if isinstance(event, Refused):
            message = f"server refused {event.command}: {event.reply}"
            raise ServiceRefusedError(message, event.reply, event.command)
        expect(event, ClientGreeted)

    async def _transaction(
        self, envelope: OutgoingEnvelope, pieces: Iterable[bytes]
    ) -> TransactionResult:
        conn, link = self._parts()
        conn.send_envelope(envelope)
        event = await self._next(Mail(envelope.sender).line())
        if isinstance(event, DataReady):
            for piece in pieces:
                wire = conn.send_data(piece)
                self._show()
                await link.write(wire, "sending the message")
            conn.end_data()
            event = await self._next("the end of the message data")
        return expect(event, TransactionDone).result

    async def _simple(self, step: Awaited) -> Reply:
        conn, _ = self._parts()
        if step is Awaited.RSET:
            conn.rset()
        else:
            conn.noop()
        reply = expect(await self._next(step.value), Done).reply
        if not reply.is_positive:
            raise RefusedError(f"server refused {step.value}: {reply}", reply, step.value)
        return reply

    def _mechanism(self, offered: frozenset[str], wanted: str | None, encrypted: bool) -> str:
        if not offered:
            hint = " before STARTTLS" if self.capabilities.starttls and not encrypted else ""
            raise AuthenticationError(f"{self.host} does not offer AUTH{hint}")
        if wanted is not None:
            name = wanted.upper()
            if name not in auth.MECHANISMS or name not in offered:
                raise AuthenticationError(
                    f"cannot AUTH {name}: the server offers {' '.join(sorted(offered))}"
                )
            return name
        chosen = auth.choose_mechanism(offered, encrypted=encrypted)
        if chosen is None:
            raise AuthenticationError(
                f"no AUTH mechanism in common: the server offers {' '.join(sorted(offered))}, "
                f"postier speaks {' '.join(sorted(auth.MECHANISMS))}"
            )
        return chosen

    # --- the wire ---------------------------------------------------------------------------

    async def _next(self, waiting_for: str, *, closing: bool = False) -> ClientEvent:
        """Read replies and write what the core queues, until it has an event for us."""
        conn, link = self._parts()
        while True:
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                self._show()
                link.abort()
                why = exc.reply.text
                raise ProtocolViolationError(
                    f"the server broke the protocol ({why}) while answering {waiting_for}"
                ) from None
            # The core may have queued commands of its own (the next RCPT, HELO, RSET).
            data = conn.data_to_send()
            self._show()
            if data:
                await link.write(data, f"sending {waiting_for}")
            if event is NEED_DATA:
                conn.receive_data(await link.read(conn.awaiting or waiting_for))
                continue
            assert isinstance(event, ClientEvent)
            if self.transcript is not None:
                self.transcript.event(event, conn.state)
            if isinstance(event, Closed) and not closing:
                raise closed_error(event, waiting_for)
            return event

    def _parts(self) -> tuple[ClientConnection, Connection]:
        if self._conn is None or self._link is None:
            raise RuntimeError("not connected: call connect() first")
        return self._conn, self._link

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = client_context()
        return self._ssl_context

    def _show(self) -> None:
        if self._conn is None:
            return
        lines = self._conn.take_transcript()
        if self.transcript is not None:
            for line in lines:
                self.transcript.line(line.party, line.text)

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.line(Party.NOTE, text)


def _default_name(local_address: str) -> str:
    """What EHLO names us by: our fully qualified name, else our address literal.

    RFC 5321 §4.1.4: the EHLO argument is a domain name or, without one, an address
    literal (§4.1.3); the literal costs no DNS lookup and cannot be wrong.
    """
    name = socket.gethostname()
    if "." in name and is_domain(name):
        return name
    if ":" in local_address:
        return f"[IPv6:{local_address}]"
    return f"[{local_address}]"
