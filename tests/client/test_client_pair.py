"""postier's client and server state machines talking in memory, with nothing in between."""

from __future__ import annotations

import pytest

from postier.protocol.smtp.capabilities import Capabilities
from postier.protocol.smtp.client_envelope import OutgoingEnvelope
from postier.protocol.smtp.client_events import (
    ClientGreeted,
    Closed,
    DataReady,
    Done,
    Greeting,
    TransactionDone,
)
from postier.protocol.smtp.config import ServerConfig
from tests.client.machine import Pair

THREE = OutgoingEnvelope("a@b.c", ("x@y.z", "q@r.s", "t@u.v"))


def _greeted(pair: Pair, *, pipelining: bool = True) -> None:
    (greeting,) = pair.pump()
    assert isinstance(greeting, Greeting)
    pair.client.ehlo()
    (greeted,) = pair.pump()
    assert isinstance(greeted, ClientGreeted)
    if not pipelining:
        offered = {k: v for k, v in greeted.capabilities.keywords.items() if k != "PIPELINING"}
        pair.client.capabilities = Capabilities(extended=True, keywords=offered)


@pytest.mark.parametrize(("pipelining", "writes"), [(True, 1), (False, 5)])
def test_round_trips_for_an_envelope(pipelining: bool, writes: int) -> None:
    # RFC 2920 §3.1: MAIL, the RCPTs and DATA in one write; else one write each.
    pair = Pair()
    _greeted(pair, pipelining=pipelining)
    before = pair.client_writes
    pair.client.send_envelope(THREE)
    (ready,) = pair.pump()
    assert isinstance(ready, DataReady)
    assert pair.client_writes - before == writes


def test_the_servers_recipient_limit_leaves_the_rest_for_later() -> None:
    pair = Pair(ServerConfig(hostname="mx.test", max_recipients=2))
    _greeted(pair)
    pair.client.send_envelope(THREE)
    (ready,) = pair.pump()
    assert isinstance(ready, DataReady)
    wire = pair.client.send_data(b"hi\r\n")
    pair.client.end_data()
    (done,) = pair.pump(wire)
    assert isinstance(done, TransactionDone)
    assert done.result.delivered
    assert done.result.accepted == ("x@y.z", "q@r.s")
    assert done.result.retry == ("t@u.v",)


def test_rset_noop_and_quit() -> None:
    pair = Pair()
    _greeted(pair)
    for call in (pair.client.rset, pair.client.noop):
        call()
        (done,) = pair.pump()
        assert isinstance(done, Done)
        assert done.reply.code == 250
    pair.client.quit()
    (closed,) = pair.pump()
    assert isinstance(closed, Closed)
    assert closed.reply is not None
    assert closed.reply.code == 221
