"""Measures the HTTP API, the page and the live events against the web page's targets.

1. The API over a store of 100,000 messages (the corpus of `store_bench.py`, mbox, 1,000
   mailboxes of 100 and one mailbox of 100,000): `GET /api/v1/messages` (all mail, and
   one mailbox) and a one-word search (a common, a middling and a rare word), each asked
   `--requests` times over one kept-alive connection to a `postier web`; target: < 50 ms
   at the 95th percentile.
2. The page: Debian's chromium (through Playwright, when both are there) opens `/` on the
   same store, until the first row of the list is shown; target: < 1 s.
3. The live events under load: a `postier serve` with one WebSocket on `/api/events`
   while `smtp-source` runs workload a (20 sessions, 1 KiB messages); a probe message is
   sent every 50 ms over its own SMTP connection, and the time from its 250 to its `new`
   frame is taken; target: < 200 ms at the 95th percentile.
4. The cost of 100 open WebSockets to workload a: its rate with and without them,
   interleaved, in one run; target: the ratio >= 0.9. One of the 100 parses and checks
   every frame; 99 read the bytes unparsed (`event_clients` says why: this process
   shares the server's cores), and what each was sent is told after the run.

It installs nothing. It needs Postfix's `smtp-source` (Debian's `postfix`) for 3 and 4,
and uses this checkout's `src/` (as `smtp_bench.py` does). Not a test: pytest does not
collect it. `--quick` is a short run (a 2,000-message corpus, fewer requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import re
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

import event_clients  # noqa: E402
import store_corpus  # noqa: E402

_HTTP = re.compile(r"HTTP API on http://([^/\s]+)/")
_SMTP = re.compile(r"listening on (\S+):(\d+)")
SENDER = "bench@example.org"
RECIPIENT = "load@example.org"
PROBE = "probe@example.org"


def say(text: str) -> None:
    print(f"[web_bench] {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass
class Process:
    """A `python -m postier ...` of this checkout, its log read for its ports."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, *args: str, log: Path) -> Process:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "postier", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        return cls(process, log)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 600) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.log.read_text(errors="replace"))
            if found:
                return found
            if self.process.poll() is not None:
                raise SystemExit(f"postier exited:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)
        raise SystemExit(f"postier did not start in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextlib.contextmanager
def running(*args: str, log: Path) -> Iterator[Process]:
    process = Process.start(*args, log=log)
    try:
        yield process
    finally:
        process.stop()


# --- 1. the API --------------------------------------------------------------------------


def timed_gets(address: str, path: str, count: int) -> list[float]:
    """Milliseconds of `count` GETs of `path` over one connection (each read whole)."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", path)
            reply = conn.getresponse()
            body = reply.read()
            times.append((time.perf_counter() - started) * 1000)
            if reply.status != 200:
                raise SystemExit(f"GET {path}: {reply.status} {body[:200]!r}")
    finally:
        conn.close()
    return times


def measure_api(manifest: store_corpus.Manifest, requests: int, work: Path) -> list[str]:
    lines = []
    words = {kind: str(manifest.words[kind][0]) for kind in ("common", "mid", "rare")}
    for spec in manifest.stores:
        if spec.format != "mbox":
            continue
        with running("web", "--store", spec.path, "--http-port", "0", log=work / "web.log") as web:
            address = web.wait_for(_HTTP)[1]
            say(f"{spec.label}: bringing the index up to date (a first request)")
            started = time.perf_counter()
            timed_gets(address, "/api/v1/messages?limit=1", 1)
            say(f"{spec.label}: index ready in {time.perf_counter() - started:.1f} s")
            box = urllib.parse.quote(spec.addresses[0])
            paths = {
                "all mail, newest 50": "/api/v1/messages",
                "one mailbox, newest 50": f"/api/v1/messages?mailbox={box}",
                **{
                    f"search {kind} word ({word})": f"/api/v1/search?query={word}"
                    for kind, word in words.items()
                },
            }
            for name, path in paths.items():
                timed_gets(address, path, 3)  # warm
                times = timed_gets(address, path, requests)
                p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
                lines.append(
                    f"{spec.label:>20} {name:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                    f"(< 50: {verdict(p95 < 50)})"
                )
                say(lines[-1])
            page = measure_page(address)
            if page:
                lines.append(f"{spec.label:>20} {page}")
                say(lines[-1])
    return lines


# --- 2. the page -------------------------------------------------------------------------


def measure_page(address: str, loads: int = 5) -> str:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "page: skipped (no Playwright)"
    if chromium is None:
        return "page: skipped (no chromium)"
    times = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as driver:
        browser = driver.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            for _ in range(loads + 1):
                started = time.perf_counter()
                page.goto(f"http://{address}/", wait_until="commit")
                page.wait_for_selector("#messages li", timeout=30_000)
                times.append(time.perf_counter() - started)
        finally:
            browser.close()
    times = times[1:]  # the first load starts the browser's caches
    worst = max(times)
    return (
        f"{'page: list shown':<34} median {statistics.median(times) * 1000:7.0f} ms  "
        f"worst {worst * 1000:7.0f} ms  (< 1 s: {verdict(worst < 1)})"
    )


# --- 3 and 4. live events under SMTP load --------------------------------------------------


def smtp_source(port: int, messages: int, sessions: int = 20) -> subprocess.Popen[bytes]:
    program = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    return subprocess.Popen(
        [program, "-d", "-s", str(sessions), "-m", str(messages), "-l", "1024",
         "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


async def sockets(address: str, count: int, frames: list[tuple[float, Any]] | None) -> Any:
    """`count` WebSockets on /api/events (`event_clients`): the first parses every frame
    and records its `new` ones in `frames`; the others take the bytes unparsed."""
    return await event_clients.Sockets(frames).open(address, count)


def probes(port: int, count: int, every: float, sent: dict[str, float]) -> None:
    """`count` messages, one each `every` seconds; when each one's 250 came."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for n in range(count):
            subject = f"probe {n}"
            client.sendmail(SENDER, [PROBE], f"Subject: {subject}\r\n\r\nprobe\r\n".encode())
            sent[subject] = time.perf_counter()
            time.sleep(every)


async def event_latency(work: Path, messages: int, count: int) -> str:
    store = work / "events-store"
    shutil.rmtree(store, ignore_errors=True)
    with running("serve", "--store", str(store), "--port", "0", "--http-port", "0",
                 log=work / "serve.log") as server:  # fmt: skip
        port = int(server.wait_for(_SMTP)[2])
        address = server.wait_for(_HTTP)[1]
        frames: list[tuple[float, Any]] = []
        opened = await sockets(address, 1, frames)
        await asyncio.sleep(1)  # the socket's first frame: the hub follows the store
        load = smtp_source(port, messages)
        sent: dict[str, float] = {}
        prober = threading.Thread(target=probes, args=(port, count, 0.05, sent))
        prober.start()
        while prober.is_alive():
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        await opened.close()
        load.wait()
    heard = {data["Subject"]: at for at, data in frames if data.get("Subject", "") in sent}
    latencies = [(heard[s] - sent[s]) * 1000 for s in sent if s in heard]
    missing = len(sent) - len(latencies)
    if not latencies:
        return f"events: no probe heard of {len(sent)}"
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    return (
        f"new event after its 250, under workload a: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
        f"  ({len(latencies)} probes, {missing} unheard; "
        f"< 200: {verdict(p95 < 200 and not missing)})"
    )


async def workload_rate(work: Path, messages: int, clients: int) -> float:
    store = work / "rate-store"
    shutil.rmtree(store, ignore_errors=True)
    with running("serve", "--store", str(store), "--port", "0", "--http-port", "0",
                 log=work / "rate.log") as server:  # fmt: skip
        port = int(server.wait_for(_SMTP)[2])
        address = server.wait_for(_HTTP)[1]
        opened = await sockets(address, clients, None) if clients else None
        await asyncio.sleep(1)
        started = time.perf_counter()
        load = smtp_source(port, messages)
        while load.poll() is None:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        if load.returncode != 0:
            assert load.stderr is not None
            raise SystemExit(f"smtp-source: {load.stderr.read()[-300:]!r}")
        if opened is not None:
            say(await opened.settle(messages))
            await opened.close()
    return messages / elapsed


async def sockets_cost(work: Path, messages: int, clients: int, rounds: int) -> str:
    without, with_ = [], []
    for _ in range(rounds):
        without.append(await workload_rate(work, messages, 0))
        with_.append(await workload_rate(work, messages, clients))
        say(f"workload a: {without[-1]:.0f} msg/s alone, {with_[-1]:.0f} with {clients} sockets")
    a, b = statistics.median(without), statistics.median(with_)
    ratio = b / a
    return (
        f"workload a with {clients} WebSockets open: {b:.0f} msg/s vs {a:.0f} without "
        f"(medians of {rounds}): ratio {ratio:.2f} (>= 0.9: {verdict(ratio >= 0.9)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, default=None,
                        help="the corpus's directory (built there, or reused)")  # fmt: skip
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--load", type=int, default=20_000, help="workload a's messages")
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only",
        default="api,events,sockets",
        help="comma-separated parts: api (with the page), events, sockets",
    )
    args = parser.parse_args()
    if args.quick:
        args.messages, args.mailboxes, args.requests = 2000, 20, 30
        args.load, args.probes, args.rounds = 2000, 20, 1
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="web-bench-") as scratch:
        work = Path(scratch)
        corpus = args.keep or work / "corpus"
        lines = []
        if "api" in parts:
            manifest = store_corpus.ensure(corpus, args.messages, args.mailboxes)
            lines += measure_api(manifest, args.requests, work)
        if "events" in parts:
            lines.append(asyncio.run(event_latency(work, args.load, args.probes)))
            say(lines[-1])
        if "sockets" in parts:
            lines.append(asyncio.run(sockets_cost(work, args.load, args.clients, args.rounds)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
