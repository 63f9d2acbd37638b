"""Hostile clients by the hundred, all at once, while a well-behaved one keeps delivering.

Idle connections, slowloris drippers (in commands and inside DATA), random bytes, resets
in the middle of a message and a tight open/close loop run against one server, while a
polite client sends one message after another. Every message it got a 250 for must be
in the store once and whole, each delivery must be served within a second, no hostile
message may be stored, and every hostile client must be cut by the per-line deadline,
not held forever.

The limits per client address get their own tests at the end: an address over its
connection limit, or with too many errors, hears 421 4.7.0 while another is served.
"""

from __future__ import annotations

import asyncio
import random
import smtplib
import socket
import statistics
import struct
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest

from tests.conftest import StartServer
from tests.faults.numbered import check_stored, numbered_message, token_of
from tests.support.hostile import (
    closed_by_server,
    command,
    connect_from,
    last_reply,
    narrow_connection,
    pump,
    raise_open_file_limit,
    read_reply,
    reply_lines,
    reset_close,
)
from tests.support.mailboxes import mbox_messages, mbox_path
from tests.support.server import ServerProcess
from tests.support.smtp import Reply, connect

TIMEOUT = 2.0
"""The server's per-line deadline (--timeout)."""
SLACK = 1.5
"""How late past the deadline a cut may come on a busy machine."""
DRIP = 0.8
"""Seconds between two octets from a slowloris client."""
STAGGER = 5.0
"""Hostile connections start at random times over this many seconds."""
LATENCY = 1.0
"""A whole delivery of the polite client (connect to QUIT) must take less than this."""
SEED = 6

KINDS = {
    "idle": 80,
    "drip-command": 60,
    "drip-data": 60,
    "random-bytes": 60,
    "reset-in-data": 60,
}
CHURN_WORKERS = 4
CHURN_EACH = 50
"""Open and close at once, in a tight loop: CHURN_WORKERS loops of CHURN_EACH."""

GOOD = "good@test.com"
HOSTILE = "hostile@test.com"
FRESH = "fresh@test.com"


@dataclass(slots=True)
class Outcome:
    """What one hostile connection did, and how the server ended it."""

    kind: str
    sent: int = 0
    received: bytes = b""
    cut_after: float | None = None
    """Seconds from the start of the line the server waited for to its close."""
    ended: str = ""
    """eof, reset (by the server), held (still open when we gave up) or ours (we left)."""
    error: str | None = None


# --- talking to the server -------------------------------------------------------------


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_streams(server: ServerProcess) -> Streams:
    return await asyncio.wait_for(asyncio.open_connection(server.host, server.port), 10)


async def reply(reader: asyncio.StreamReader, expect: int) -> None:
    """Read one whole reply and check its code."""
    async with asyncio.timeout(10):
        while True:
            line = await reader.readline()
            if not line.endswith(b"\r\n"):
                raise ConnectionError(f"closed while waiting for {expect}: {line!r}")
            if line[3:4] != b"-":
                assert line[:3] == str(expect).encode(), (expect, line)
                return


async def ask(streams: Streams, line: bytes, expect: int) -> None:
    reader, writer = streams
    writer.write(line + b"\r\n")
    await writer.drain()
    await reply(reader, expect)


async def into_data(streams: Streams, client: str) -> None:
    """From the greeting to the 354 that opens a hostile message."""
    await reply(streams[0], 220)
    await ask(streams, f"EHLO {client}".encode(), 250)
    await ask(streams, f"MAIL FROM:<{client}@hostile.test>".encode(), 250)
    await ask(streams, f"RCPT TO:<{HOSTILE}>".encode(), 250)
    await ask(streams, b"DATA", 354)


async def until_closed(reader: asyncio.StreamReader, limit: float) -> tuple[bytes, str]:
    """Everything the server still sends, and how the connection ended."""
    data = bytearray()
    try:
        async with asyncio.timeout(limit):
            while chunk := await reader.read(65536):
                data += chunk
    except TimeoutError:
        return bytes(data), "held"
    except ConnectionResetError:
        return bytes(data), "reset"
    return bytes(data), "eof"


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0) rather than a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- the hostile kinds -------------------------------------------------------------------


async def idle(streams: Streams, outcome: Outcome, rng: random.Random) -> None:
    await reply(streams[0], 220)
    since = time.monotonic()  # the greeting leaves as the deadline starts
    outcome.received, outcome.ended = await until_closed(streams[0], TIMEOUT + SLACK + 5)
    outcome.cut_after = time.monotonic() - since


async def drip(streams: Streams, data: bytes, outcome: Outcome) -> None:
    """Send `data` one octet every DRIP seconds until the server says something."""
    reader, writer = streams
    since = time.monotonic()
    received = b""
    give_up = since + TIMEOUT + SLACK + 5
    for octet in data:
        if time.monotonic() > give_up:
            outcome.ended = "held"
            break
        try:
            writer.write(bytes([octet]))
            await writer.drain()
        except ConnectionError:
            break
        outcome.sent += 1
        try:
            received = await asyncio.wait_for(reader.read(65536), DRIP)
        except TimeoutError:
            continue
        except ConnectionResetError:
            outcome.ended = "reset"
        break
    if not outcome.ended:
        rest, outcome.ended = await until_closed(reader, 5)
        received += rest
    outcome.cut_after = time.monotonic() - since
    outcome.received = received


async def drip_command(streams: Streams, outcome: Outcome, rng: random.Random) -> None:
    await reply(streams[0], 220)
    await drip(streams, b"EHLO a-slowloris-client-dripping-one-octet-at-a-time.test\r\n", outcome)


async def drip_data(streams: Streams, outcome: Outcome, rng: random.Random) -> None:
    await into_data(streams, "dripper")
    await drip(streams, b"Subject: dripped one octet at a time, never one whole line", outcome)


async def random_bytes(streams: Streams, outcome: Outcome, rng: random.Random) -> None:
    """Random octets, some of them ended as lines, in a few bursts; then nothing."""
    reader, writer = streams
    for _ in range(rng.randint(1, 6)):
        burst = rng.randbytes(rng.randint(1, 300)) + (b"\r\n" if rng.random() < 0.6 else b"")
        try:
            writer.write(burst)
            await writer.drain()
        except ConnectionError:
            break  # closed after too many errors
        outcome.sent += len(burst)
        await asyncio.sleep(rng.uniform(0, 0.3))
    since = time.monotonic()
    outcome.received, outcome.ended = await until_closed(reader, TIMEOUT + SLACK + 5)
    outcome.cut_after = time.monotonic() - since


async def reset_in_data(streams: Streams, outcome: Outcome, rng: random.Random) -> None:
    """Part of a message, some of them past the in-memory spool; then an RST."""
    writer = streams[1]
    await into_data(streams, "resetter")
    size = rng.randint(1100_000, 2000_000) if rng.random() < 0.1 else rng.randint(1000, 256_000)
    body = bytearray(b"Subject: never finished\r\n\r\n")
    while len(body) < size:
        body += b"%08d a hostile message that is reset before its end\r\n" % len(body)
    writer.write(body)
    await writer.drain()
    outcome.sent = len(body)
    await asyncio.sleep(rng.uniform(0, 0.5))
    reset(writer)
    outcome.ended = "ours"


BEHAVIOURS: dict[str, Callable[[Streams, Outcome, random.Random], Awaitable[None]]] = {
    "idle": idle,
    "drip-command": drip_command,
    "drip-data": drip_data,
    "random-bytes": random_bytes,
    "reset-in-data": reset_in_data,
}


async def hostile(server: ServerProcess, kind: str, index: int, delay: float) -> Outcome:
    outcome = Outcome(kind)
    rng = random.Random(f"{SEED}-{kind}-{index}")
    await asyncio.sleep(delay)
    try:
        streams = await open_streams(server)
    except OSError as exc:
        outcome.error = f"cannot connect: {exc!r}"
        return outcome
    try:
        await BEHAVIOURS[kind](streams, outcome, rng)
    except Exception as exc:  # recorded and failed on below; every socket still closes
        outcome.error = repr(exc)
    finally:
        streams[1].transport.abort()
    return outcome


async def churn(server: ServerProcess, worker: int) -> list[Outcome]:
    """Connect and leave at once, CHURN_EACH times: half with a FIN, half with an RST."""
    outcomes: list[Outcome] = []
    for n in range(CHURN_EACH):
        outcome = Outcome("open-close")
        try:
            _, writer = await open_streams(server)
        except OSError as exc:
            outcome.error = f"cannot connect: {exc!r}"
        else:
            if (worker + n) % 2:
                reset(writer)
            else:
                writer.close()
            outcome.ended = "ours"
        outcomes.append(outcome)
    return outcomes


async def campaign(server: ServerProcess) -> list[Outcome]:
    rng = random.Random(SEED)
    hostiles = [
        hostile(server, kind, index, rng.uniform(0, STAGGER))
        for kind, count in KINDS.items()
        for index in range(count)
    ]
    churns = [churn(server, worker) for worker in range(CHURN_WORKERS)]
    outcomes, churned = await asyncio.gather(asyncio.gather(*hostiles), asyncio.gather(*churns))
    return [*outcomes, *(outcome for group in churned for outcome in group)]


# --- the polite client ----------------------------------------------------------------


@dataclass
class PoliteClient:
    """Delivers one message after another, each in its own session, until stopped."""

    server: ServerProcess
    acknowledged: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            token = token_of(900, number)
            message = numbered_message(token, 1024 + number * 7919 % 20000)
            number += 1
            began = time.monotonic()
            try:
                with smtplib.SMTP(self.server.host, self.server.port, "polite.test", 5) as smtp:
                    refused = smtp.sendmail("polite@client.test", [GOOD], message)
                    assert refused == {}, refused
                    self.acknowledged.append(token)
            except (OSError, smtplib.SMTPException, AssertionError) as exc:
                self.failures.append(f"{token}: {exc!r}")
                continue
            self.latencies.append(time.monotonic() - began)


# --- the test ----------------------------------------------------------------------------


def cut_by_deadline(outcome: Outcome) -> bool:
    """421 4.4.2 and the close, about TIMEOUT seconds into the line never finished."""
    return (
        last_reply(outcome.received) == (421, "4.4.2")
        and outcome.ended in ("eof", "reset")
        and outcome.cut_after is not None
        and TIMEOUT - 0.5 <= outcome.cut_after <= TIMEOUT + SLACK
    )


def closed_in_time(outcome: Outcome) -> bool:
    """A client that sent garbage: only replies, then the close, within the deadline."""
    reply_lines(outcome.received)
    final = last_reply(outcome.received)
    return (
        final is not None
        and final[0] in (421, 554)
        and outcome.ended in ("eof", "reset")
        and outcome.cut_after is not None
        and outcome.cut_after <= TIMEOUT + SLACK
    )


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"min {min(values):.3f}s median {statistics.median(values):.3f}s max {max(values):.3f}s"


def connections_closed(server: ServerProcess) -> int:
    return server.log_text().count(" closed after ")


def report(elapsed: float, by_kind: dict[str, list[Outcome]], polite: PoliteClient) -> None:
    print(f"\ncampaign of {elapsed:.1f}s against --timeout {TIMEOUT:g}:")
    for kind, group in by_kind.items():
        cuts = [o.cut_after for o in group if o.cut_after is not None]
        endings = Counter(o.ended or "error" for o in group)
        print(
            f"  {kind:14} {len(group):4} connections, {sum(o.sent for o in group):9} bytes sent,"
            f" ended {dict(endings)}; cut after {spread(cuts)}"
        )
    print(
        f"  polite client: {len(polite.acknowledged)} messages delivered,"
        f" {len(polite.failures)} failures; latency {spread(polite.latencies)}"
    )


def check_hostiles_were_cut(outcomes: list[Outcome], by_kind: dict[str, list[Outcome]]) -> None:
    errors = [f"{o.kind}: {o.error}" for o in outcomes if o.error]
    assert errors == [], errors[:10]
    for kind in ("idle", "drip-command", "drip-data"):
        late = [
            (o.received[-80:], o.ended, o.cut_after)
            for o in by_kind[kind]
            if not cut_by_deadline(o)
        ]
        assert late == [], f"{kind}: {len(late)} not cut by the deadline, e.g. {late[:3]}"
    garbled = [
        (o.received[-80:], o.ended, o.cut_after)
        for o in by_kind["random-bytes"]
        if not closed_in_time(o)
    ]
    assert garbled == [], f"random-bytes: {len(garbled)} not closed in time, e.g. {garbled[:3]}"


def check_fresh_client_is_served(server: ServerProcess) -> None:
    assert server.process is not None and server.process.poll() is None, "the server died"
    with connect(server.address) as fresh:
        assert fresh.command("MAIL FROM:<fresh@client.test>").code == 250
        assert fresh.command(f"RCPT TO:<{FRESH}>").code == 250
        assert fresh.command("DATA").code == 354
        fresh.send(b"Subject: after the storm\r\n\r\nstill here\r\n.\r\n")
        assert fresh.reply().code == 250
        assert fresh.command("QUIT").code == 221
    (stored,) = mbox_messages(server.store, FRESH)
    assert b"still here" in stored


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_hostile_campaign_spares_the_polite_client(start_server: StartServer) -> None:
    raise_open_file_limit(4096)
    server = start_server("--timeout", str(TIMEOUT), "--max-connections", "2000")
    polite = PoliteClient(server)
    thread = threading.Thread(target=polite.run, name="polite-client")
    began = time.monotonic()
    thread.start()
    try:
        outcomes = asyncio.run(campaign(server))
    finally:
        polite.stop.set()
        thread.join(30)
    assert not thread.is_alive()
    by_kind: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    report(time.monotonic() - began, by_kind, polite)

    check_hostiles_were_cut(outcomes, by_kind)
    # The polite client was always served, and quickly.
    assert polite.failures == [], polite.failures[:10]
    assert len(polite.acknowledged) >= 10
    assert max(polite.latencies) < LATENCY, spread(polite.latencies)
    check_fresh_client_is_served(server)

    # Every acknowledged message is stored once and whole; nothing hostile is.
    stored = [check_stored(message, GOOD) for message in mbox_messages(server.store, GOOD)]
    assert Counter(stored) == Counter(polite.acknowledged)
    assert not mbox_path(server.store, HOSTILE).exists()
    log = server.log_text()
    assert log.count(" accepted ") == len(polite.acknowledged) + 1
    assert "Traceback" not in log

    # Every connection was closed and logged: none is left behind.
    opened = len(outcomes) + len(polite.acknowledged) + len(polite.failures) + 1
    deadline = time.monotonic() + 10
    while connections_closed(server) < opened and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections_closed(server) == opened


@pytest.mark.timeout(30)
def test_a_client_that_never_reads_its_replies_is_cut_too(start_server: StartServer) -> None:
    """Pipelined commands, replies never read: the server stops reading (its write buffer
    is full), so no line comes; the deadline must end the connection all the same."""
    server = start_server("--timeout", str(TIMEOUT))
    with narrow_connection(server.address) as sock:
        assert read_reply(sock).code == 220
        flood = b"HELP\r\nNOOP\r\n" * 5000
        # Returns a second after the server stopped taking the commands in.
        pump([sock], lambda _: flood, 1 << 20, stall=1.0, deadline=time.monotonic() + 10)
        stalled = time.monotonic()
        while connections_closed(server) == 0 and time.monotonic() < stalled + TIMEOUT + SLACK:
            time.sleep(0.05)
        held = time.monotonic() - stalled
        ended = connections_closed(server)
        reset_close(sock)
    assert ended == 1, f"still open {held:.1f}s after the server stopped reading"


# --- limits per client address ------------------------------------------------------------
# Linux routes all of 127.0.0.0/8 to loopback: a client bound to 127.0.0.2 before it
# connects is another address to the server. `--client-limit-exempt none` applies the
# limits to loopback, which is exempt by default.

FLOODER = "127.0.0.2"
NEIGHBOUR = "127.0.0.3"
CLIENT_CONNECTIONS = 5
CLIENT_ERRORS = 10


def admitted(server: ServerProcess, source: str, stack: ExitStack) -> socket.socket:
    """A connection from `source` that got its 220 and is kept open until the end."""
    sock = stack.enter_context(connect_from(source, server.address))
    greeting = read_reply(sock)
    assert greeting.code == 220, greeting
    return sock


def refused_from(server: ServerProcess, source: str) -> Reply:
    """A connection from `source` that is refused: its 421, then the close."""
    with connect_from(source, server.address) as sock:
        refusal = read_reply(sock)
        assert (refusal.code, refusal.enhanced) == (421, "4.7.0"), refusal
        assert closed_by_server(sock)
    return refusal


def delivers(server: ServerProcess, source: str, token: str) -> None:
    """A whole session from `source`: one message, 250, QUIT."""
    with connect_from(source, server.address) as sock:
        assert read_reply(sock).code == 220
        assert command(sock, f"EHLO {token}.test").code == 250
        assert command(sock, f"MAIL FROM:<{token}@client.test>").code == 250
        assert command(sock, f"RCPT TO:<{GOOD}>").code == 250
        assert command(sock, "DATA").code == 354
        sock.sendall(numbered_message(token) + b".\r\n")
        assert read_reply(sock).code == 250
        assert command(sock, "QUIT").code == 221


def refusals_logged(server: ServerProcess, source: str, why: str, expected: int) -> int:
    """How many refusals of `source` for `why` the log holds, once it holds `expected`
    (the server logs a refusal just after it sends it) or after a second."""
    deadline = time.monotonic() + 1
    while True:
        count = sum(
            1
            for line in server.log_text().splitlines()
            if f"refused connection from [{source}]:" in line and why in line
        )
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


@pytest.mark.timeout(60)
def test_flooder_over_its_connection_limit_leaves_the_slots_to_others(
    start_server: StartServer,
) -> None:
    server = start_server(
        "--max-connections", "20",
        "--max-client-connections", str(CLIENT_CONNECTIONS),
        "--client-limit-exempt", "none",
    )  # fmt: skip
    with ExitStack() as stack:
        flood = [admitted(server, FLOODER, stack) for _ in range(CLIENT_CONNECTIONS)]
        # Four times the whole server's limit: each one over the address's limit is refused.
        for _ in range(80):
            refusal = refused_from(server, FLOODER)
        assert "too many connections from your address" in refusal.text
        # The neighbour still has the server's other slots, and is served in full.
        neighbours = [admitted(server, NEIGHBOUR, stack) for _ in range(CLIENT_CONNECTIONS - 1)]
        delivers(server, NEIGHBOUR, token_of(3, 0))
        for sock in neighbours:
            assert command(sock, "NOOP").code == 250
        # A flooder's connection that ends gives its address a slot back.
        assert command(flood[0], "QUIT").code == 221
        assert closed_by_server(flood[0])
        refused, deadline = 80, time.monotonic() + 5
        while True:
            with connect_from(FLOODER, server.address) as sock:
                if read_reply(sock).code == 220:
                    break
            refused += 1
            assert time.monotonic() < deadline, "the flooder's slot was never freed"
            time.sleep(0.05)
    (stored,) = mbox_messages(server.store, GOOD)
    assert check_stored(stored, GOOD) == token_of(3, 0)
    assert refusals_logged(server, FLOODER, "too many connections from", refused) == refused
    assert refusals_logged(server, NEIGHBOUR, "", 0) == 0


@pytest.mark.timeout(60)
def test_address_that_made_many_errors_is_refused_while_others_are_served(
    start_server: StartServer,
) -> None:
    server = start_server(
        "--max-client-errors", str(CLIENT_ERRORS), "--client-limit-exempt", "none"
    )
    # Errors count per address, across connections: three sessions of four errors each,
    # every one of them below the per-connection --max-errors.
    for _ in range(3):
        with connect_from(FLOODER, server.address) as sock:
            assert read_reply(sock).code == 220
            for _ in range(4):
                assert command(sock, "BOGUS command").code == 500
            assert command(sock, "QUIT").code == 221
    refusal = refused_from(server, FLOODER)
    assert "too many errors from your address" in refusal.text
    # Another address is served; and its own errors below the limit do not lock it out.
    with connect_from(NEIGHBOUR, server.address) as sock:
        assert read_reply(sock).code == 220
        for _ in range(CLIENT_ERRORS - 2):
            assert command(sock, "BOGUS command").code == 500
    delivers(server, NEIGHBOUR, token_of(3, 1))
    refused_from(server, FLOODER)  # still refused
    (stored,) = mbox_messages(server.store, GOOD)
    assert check_stored(stored, GOOD) == token_of(3, 1)
    assert refusals_logged(server, FLOODER, "too many errors from", 2) == 2


@pytest.mark.timeout(60)
def test_loopback_is_exempt_from_the_client_limits_by_default(start_server: StartServer) -> None:
    server = start_server("--max-client-connections", "2", "--max-client-errors", "2")
    with ExitStack() as stack:
        for _ in range(4):
            sock = admitted(server, FLOODER, stack)
            for _ in range(3):
                assert command(sock, "BOGUS command").code == 500
    delivers(server, FLOODER, token_of(2, 0))
    assert refusals_logged(server, FLOODER, "", 0) == 0
