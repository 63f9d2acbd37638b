"""A session's TLS: STARTTLS's handshake on the same connection (RFC 3207), and what
`Received:` says of the session that TLS protects."""

from __future__ import annotations

import asyncio

from postier.ends import EndReason
from postier.server.context import End
from postier.server.session_parts import SessionParts


class TlsParts(SessionParts):
    """The session's TLS handshake and what it notes of it."""

    async def _start_tls(self) -> None:
        transport = self.transport
        ssl_context = self.context.ssl_context
        assert transport is not None and ssl_context is not None
        self._write(transport, self.conn.data_to_send())
        await self._late.drained()
        try:
            new_transport = await self._loop.start_tls(
                transport,
                self,
                ssl_context,
                server_side=True,
                ssl_handshake_timeout=min(self.context.settings.timeout, 60.0),
            )
        except Exception as exc:  # ssl.SSLError, OSError, TimeoutError: all end the session
            self._end = End(EndReason.TLS_FAILED, type(exc).__name__)
            self._tls_counted(ok=False)
            transport.abort()
            return
        if new_transport is None:
            self._end = End(EndReason.TLS_FAILED)
            self._tls_counted(ok=False)
            transport.abort()
            return
        self._tls_counted(ok=True)
        self.transport = new_transport
        self._note_tls(new_transport)
        if self.narrator is not None:
            self.narrator.tls_up(self.tls_info)
        self.conn.tls_started()
        self._lines_seen = -1
        self._process()

    def _tls_counted(self, *, ok: bool) -> None:
        if self.context.metrics is not None:
            self.context.metrics.tls_done(ok=ok)

    def _note_tls(self, transport: asyncio.BaseTransport) -> None:
        """What `Received:` says of the TLS session: its version and cipher."""
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self.tls_info = f"{ssl_object.version()} with cipher {cipher[0] if cipher else '?'}"
