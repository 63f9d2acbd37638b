"""A session's message: its data kept in a spool, handed to the store, and the outcome
told; and what the envelope's policy and chaos decide of it (refusals logged as chaos
when chaos made them, a message refused whole, a hang-up in the middle of DATA)."""

from __future__ import annotations

import logging
import time

from postier.ends import EndReason
from postier.protocol.smtp import MessageComplete, Reply, catalogue
from postier.server.context import End, addresses
from postier.server.policy import Decision
from postier.server.queue_ids import new_queue_id
from postier.server.session_parts import SessionParts

log = logging.getLogger("postier.server")


class MessageParts(SessionParts):
    """The session's dealings with the message under way."""

    def _decided(self, decision: Decision, what: str, command: str | None = None) -> None:
        """Log a refusal of the policy, as chaos when chaos made it, and tell it;
        `command` (MAIL, RCPT): count a refusal of it (`--metrics`)."""
        metrics = self.context.metrics
        if metrics is not None and command is not None and isinstance(decision.verdict, Reply):
            reason = "policy" if decision.chaos is None else "chaos"
            metrics.envelope_refusal(command, reason, decision.verdict)
        if decision.chaos is not None:
            log.info("chaos (%s) %s: %s: %s", decision.chaos, self.peer, what, decision.verdict)
            if self.narrator is not None:
                self.narrator.chaos(decision.chaos)
        elif isinstance(decision.verdict, Reply):
            log.info("%s: refused %s: %s", self.peer, what, decision.verdict)

    def _refuse_message(self, event: MessageComplete, decision: Decision) -> None:
        """`--chaos data=CODE:PCT`: the whole message is refused, never stored."""
        assert isinstance(decision.verdict, Reply)
        self._drop_spool()
        self._refused += 1
        if self.context.metrics is not None:
            self.context.metrics.message_refused("chaos", decision.verdict)
        self.conn.answer_message(decision.verdict)
        self._lines_seen = -1
        log.info(
            "chaos (%s) %s: message from <%s> for %s not stored: %s",
            decision.chaos,
            self.peer,
            event.sender,
            addresses(event.recipients),
            decision.verdict,
        )
        if self.narrator is not None:
            self.narrator.not_stored()
            if decision.chaos is not None:
                self.narrator.chaos(decision.chaos)

    def _hang_up(self) -> bool:
        """`--chaos disconnect=PCT`: drop the connection in the middle of DATA; the
        message is never stored, the client hears nothing more."""
        assert self.transport is not None
        log.info(
            "chaos (disconnect=%d) %s: connection dropped in the middle of DATA",
            self.context.chaos.config.disconnect,
            self.peer,
        )
        self._end = End(EndReason.CHAOS)
        self._drop_spool()
        self._late.cancel()
        self.transport.abort()
        return True

    def _spool_data(self, data: bytes) -> None:
        """Keep a piece of the message; a spool that cannot grow (disk full, no file
        descriptor left) fails the message with 451 at its end, not the session."""
        if self._spool_failed:
            return
        assert self._spool is not None
        try:
            self._spool.write(data)
        except OSError as exc:
            log.error("%s: cannot spool the message: %s", self.peer, exc)
            self._spool_failed = True

    async def _deliver(self, event: MessageComplete) -> None:
        spool, self._spool = self._spool, None
        assert spool is not None
        metrics = self.context.metrics
        if self._spool_failed:
            spool.close()
            self._refused += 1
            if self.narrator is not None:
                self.narrator.not_stored()
            answer = catalogue.delivery_failed()
            if metrics is not None:
                metrics.message_refused("spool", answer)
            self._answer(answer)
            return
        started = time.perf_counter() if metrics is not None else 0.0
        queue_id = new_queue_id()
        try:
            answer = await self.context.deliver(
                event, spool, peer_ip=self.peer_ip, peer=self.peer, tls=self.tls_info,
                queue_id=queue_id,
            )  # fmt: skip
        finally:
            spool.close()
        if answer.is_positive:
            self._accepted += 1
        else:
            self._refused += 1
        if self.narrator is not None:
            self._narrate_delivery(event, answer, queue_id)
        if metrics is not None:
            if answer.is_positive:
                metrics.accepted.inc()
                metrics.delivery.observe(time.perf_counter() - started)
            else:
                metrics.message_refused("store", answer)
        self._answer(answer)

    def _narrate_delivery(self, event: MessageComplete, answer: Reply, queue_id: str) -> None:
        narrator = self.narrator
        assert narrator is not None
        if answer.is_positive:
            narrator.stored(event.recipients, event.size, queue_id)
        else:
            narrator.not_stored()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
