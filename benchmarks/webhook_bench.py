#!/usr/bin/env python3
"""Benchmark of `postier serve --webhook`: how soon a webhook hears of a message, and
what the webhooks cost SMTP.

(a) Latency. One SMTP session (smtplib) sends N messages (1 KiB; default 300) one after
    another into postier (mbox, fsync on) with `--webhook` pointing at a receiver on
    loopback (aiohttp, its own process, answering 200 at once). For each message the
    clock runs from the end of its data (the client's `CRLF.CRLF` written) to the POST
    received (the receiver's monotonic clock: CLOCK_MONOTONIC, the same in every process
    of the machine). Printed: median, p95 and max, beside the same figures for the 250
    (end of data to reply), which the webhook must not hold up.
(b) Throughput. Postfix's `smtp-source` (20 sessions, 1 KiB, M messages; default 2,000)
    into postier without webhooks, with one, and with one and `--metrics` (every server
    with its HTTP API on, as `postier serve` is by default), the three interleaved
    `--rounds` times in this one run; rate = M / (time smtp-source ran). Printed: each
    one's median rate and its ratio to the one without, how many POSTs arrived (a
    message that finds the webhook queue full is not posted, and logged), and how long
    after the last 250 the last one came.

It prints one table of figures, and the commands it ran. It installs nothing, uses this
checkout's `src/`, and is not a test (pytest does not collect it). Each server runs in a
temporary directory under `--workdir`, wiped at the end.

    python benchmarks/webhook_bench.py            # N 300, M 2,000, 3 rounds
    python benchmarks/webhook_bench.py --quick    # N 100, M 500, 1 round
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
HOST: Final = "127.0.0.1"
BODY: Final = ("x" * 76 + "\r\n") * 13  # about 1 KiB with the header
WAIT: Final = 120.0
COMMANDS: list[str] = []
MODES: Final = ("off", "webhook", "webhook+metrics")
"""The servers of (b): neither, a webhook, a webhook and `--metrics` (HTTP on in all)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.01)


# -- the receiver (its own process) --------------------------------------------------------


def receive(port: int) -> None:
    """`--receiver PORT`: record each POST's subject and arrival; GET /posts hands them over
    (and forgets them)."""
    from aiohttp import web

    arrived: list[tuple[str, float]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.monotonic()
        arrived.append((json.loads(body)["Subject"], now))
        return web.Response(text="ok")

    async def posts(request: web.Request) -> web.Response:
        taken = list(arrived)
        if request.query.get("take"):
            arrived.clear()
        return web.json_response(taken)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/posts", posts)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        command = [sys.executable, __file__, "--receiver", str(self.port)]
        self.process = subprocess.Popen(command, start_new_session=True)
        until(self._up, 20, "receiver")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def _up(self) -> bool:
        try:
            self.posts()
        except OSError:
            return False
        return True

    def posts(self, *, take: bool = False) -> list[tuple[str, float]]:
        query = "?take=1" if take else ""
        with urllib.request.urlopen(f"http://{HOST}:{self.port}/posts{query}", timeout=10) as r:
            return [(str(s), float(t)) for s, t in json.load(r)]

    def close(self) -> None:
        stop(self.process)


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 15)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(10)


# -- postier ---------------------------------------------------------------------------------


@contextlib.contextmanager
def postier(workdir: Path, *options: str) -> Iterator[tuple[int, Path]]:
    """`postier serve` on a free port with a fresh store; its port and its log."""
    home = Path(tempfile.mkdtemp(prefix="webhook-bench-", dir=workdir))
    log = home / "serve.log"
    port = free_port()
    command = [
        sys.executable, "-m", "postier", "serve", "--host", HOST, "--port", str(port),
        "--store", str(home / "mail"), "--http-host", HOST, "--http-port", "0",
        "--hostname", "bench.test",
        "--log-level", "warning", *options,  # warning: no line per message, drops logged
    ]  # fmt: skip
    COMMANDS.append(shlex.join(["python", *command[1:]]))
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR / "src")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            until(lambda: _accepts(port) or process.poll() is not None, 20, "server")
            if process.poll() is not None:
                raise RuntimeError(f"postier exited:\n{log.read_text(errors='replace')}")
            yield port, log
        finally:
            stop(process)
            shutil.rmtree(home, ignore_errors=True)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.recv(512)
            sock.sendall(b"QUIT\r\n")
    except OSError:
        return False
    return True


# -- (a) latency ------------------------------------------------------------------------------


class TimedSMTP(smtplib.SMTP):
    """smtplib, noting when the end of the data has been written."""

    end_of_data = 0.0

    def send(self, s: bytes | str) -> None:  # type: ignore[override]
        super().send(s)
        data = s if isinstance(s, bytes) else s.encode()
        if data.endswith(b"\r\n.\r\n"):
            self.end_of_data = time.monotonic()


@dataclass
class Latency:
    hook: list[float]
    reply: list[float]


def measure_latency(workdir: Path, receiver: Receiver, count: int) -> Latency:
    ends: dict[str, float] = {}
    replies: list[float] = []
    with postier(workdir, "--webhook", receiver.url) as (port, _):
        receiver.posts(take=True)
        with TimedSMTP(HOST, port, timeout=30) as client:
            for number in range(count):
                subject = f"lat-{number}"
                message = f"From: b@bench.test\r\nTo: r@bench.test\r\nSubject: {subject}\r\n\r\n"
                client.sendmail("b@bench.test", ["r@bench.test"], message + BODY)
                replies.append(time.monotonic() - client.end_of_data)
                ends[subject] = client.end_of_data
        until(lambda: len(receiver.posts()) >= count, WAIT, f"{count} POSTs")
        arrived = dict(receiver.posts(take=True))
    return Latency([arrived[s] - ends[s] for s in ends], replies)


# -- (b) throughput ---------------------------------------------------------------------------


@dataclass
class Round:
    mode: str
    """One of MODES."""
    rate: float
    posted: int = 0
    drain: float = 0.0
    dropped: int = 0


def source(port: int, count: int) -> float:
    """smtp-source's 20 sessions of `count` 1 KiB messages; the seconds it ran."""
    command = [
        "smtp-source", "-d", "-s", "20", "-m", str(count), "-l", "1024",
        "-f", "b@bench.test", "-t", "r@bench.test", f"{HOST}:{port}",
    ]  # fmt: skip
    if shlex.join(command[:-1]) not in {c.rsplit(" ", 1)[0] for c in COMMANDS}:
        COMMANDS.append(shlex.join(command))
    began = time.monotonic()
    subprocess.run(command, check=True, timeout=WAIT, stdout=subprocess.DEVNULL)
    return time.monotonic() - began


def measure_round(workdir: Path, receiver: Receiver, count: int, mode: str) -> Round:
    options = {
        "off": (),
        "webhook": ("--webhook", receiver.url),
        "webhook+metrics": ("--webhook", receiver.url, "--metrics"),
    }[mode]
    with postier(workdir, *options) as (port, log):
        receiver.posts(take=True)
        elapsed = source(port, count)
        done = time.monotonic()
        if mode == "off":
            return Round(mode, count / elapsed)
        dropped = 0

        def settled() -> bool:
            nonlocal dropped
            dropped = len(
                re.findall(r"messages are waiting already", log.read_text(errors="replace"))
            )
            return len(receiver.posts()) + dropped >= count

        until(settled, WAIT, "POSTs")
        arrived = receiver.posts(take=True)
        last = max((t for _, t in arrived), default=done)
        return Round(mode, count / elapsed, len(arrived), max(0.0, last - done), dropped)


# -- the report -------------------------------------------------------------------------------


def ms(values: Sequence[float]) -> tuple[str, str, str]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return tuple(f"{v * 1000:.1f} ms" for v in (statistics.median(ordered), p95, ordered[-1]))  # type: ignore[return-value]


def report(latency: Latency, rounds: list[Round], count: int, messages: int) -> str:
    rates = {m: [r.rate for r in rounds if r.mode == m] for m in MODES}
    off = statistics.median(rates["off"])
    hooked = [r for r in rounds if r.mode != "off"]
    rows = [
        ("", "median", "p95", "max"),
        (f"end of data -> POST received ({count} msgs)", *ms(latency.hook)),
        ("end of data -> 250 (same run)", *ms(latency.reply)),
    ]
    lines = ["(a) webhook delivery latency, one SMTP session, 1 KiB, mbox + fsync"]
    lines += [f"  {a:<44} {b:>10} {c:>10} {d:>10}" for a, b, c, d in rows]
    lines.append("")
    lines.append(f"(b) SMTP throughput, smtp-source 20 sessions x {messages} msgs, 1 KiB")
    for mode in MODES:
        rate = statistics.median(rates[mode])
        lines.append(
            f"  {mode:<16} {rate:8.0f} msg/s (median of {len(rates[mode])}), "
            f"ratio to off {rate / off:5.2f}"
        )
    for r in hooked:
        lines.append(
            f"  round with {r.mode}: {r.posted}/{messages} POSTed, {r.dropped} dropped "
            f"(queue full), last POST {r.drain * 1000:.0f} ms after the last 250"
        )
    lines.append("")
    lines.append("commands:")
    lines += [f"  {c}" for c in dict.fromkeys(COMMANDS)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="latency: N (300)")
    parser.add_argument("--load", type=int, default=2000, help="throughput: M (2000)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (3)")
    parser.add_argument("--quick", action="store_true", help="N 100, M 500, 1 round")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver is not None:
        receive(args.receiver)
        return 0
    if args.quick:
        args.messages, args.load, args.rounds = 100, 500, 1
    if shutil.which("smtp-source") is None:
        print("needs Postfix's smtp-source (Debian: postfix)", file=sys.stderr)
        return 1
    receiver = Receiver()
    try:
        latency = measure_latency(args.workdir, receiver, args.messages)
        rounds: list[Round] = []
        for _ in range(args.rounds):
            for mode in MODES:
                rounds.append(measure_round(args.workdir, receiver, args.load, mode))
    finally:
        receiver.close()
    print(report(latency, rounds, args.messages, args.load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
