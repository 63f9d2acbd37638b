#!/usr/bin/env python3
"""Benchmark of the relay: how fast `postier serve --relay` passes mail on, and what a
long queue costs.

(a) Relay rate. N messages (1 KiB) are sent by concurrent smtplib clients into postier
    (mbox, fsync on, `--relay-match '.*'`: every copy is relayed); the clock runs from
    the first connection until the upstream has them all. Two upstreams: a private
    Postfix on loopback (tests/support/postfix.py: it queues, fsyncs and delivers each
    message to a Maildir; "has them" is its Maildir holding N files), and Postfix's
    `smtp-sink` (C, discards; "has them" is postier's outbound queue empty, each entry
    being removed only after the upstream's 250). In the same run, the same N messages
    into postier without `--relay` give the accept rate the relay is compared with.
(b) A long queue. The upstream is down (a port nobody listens on, `--relay-retry
    3600`), Q messages (10,000) are accepted and queued; postier's VmRSS is read before
    and after, `OutboundQueue(store).entries()` is timed (what `postier queue` reads),
    then the upstream comes up on that port, `OutboundQueue.request_flush()` makes
    every entry due, and the drain is timed.

It prints one table of figures and ratios, and the commands it ran. It is not a test:
nothing here is collected by pytest. Each server runs in its own temporary directory
under `--workdir`, wiped at the end (`--keep` leaves it).

    python benchmarks/relay_bench.py                 # N 2,000; Q 10,000
    python benchmarks/relay_bench.py --quick         # N 300; Q 1,000: a minute
    python benchmarks/relay_bench.py --targets sink  # smtp-sink only (no root needed)

Needs: Postfix's `smtp-sink` (Debian's `postfix`; the system's daemon need not run and
is never touched), and for the Postfix target root (its master starts as root and
drops to the `postfix` user), and pytest importable (the Postfix runner lives with the
tests).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from smtp_bench import find_program, free_port, memory_kib, read_greeting, stop_group

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR))  # tests.support.postfix

from postier.relay import OutboundQueue  # noqa: E402

HOST: Final = "127.0.0.1"
SENDER: Final = "bench@origin.test"
DOMAIN: Final = "relay.test"
LENGTH: Final = 1024
"""Bytes of each message's body."""


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def put(self, title: str, value: str) -> None:
        self.rows.append((title, value))
        _progress(f"{title}: {value}")


def _progress(text: str) -> None:
    print(f"[relay_bench] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- servers


@dataclass
class Postier:
    port: int
    process: subprocess.Popen[bytes]
    store: Path

    def rss_kib(self) -> int:
        return memory_kib(self.process.pid, "VmRSS")

    def hwm_kib(self) -> int:
        return memory_kib(self.process.pid, "VmHWM")


def _wait_greeting(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{tail}")
        with contextlib.suppress(OSError):
            if read_greeting(port, 2.0).startswith(b"220"):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not greet within 30 s")
        time.sleep(0.05)


@contextlib.contextmanager
def postier(work: Path, name: str, figures: Figures, *options: str) -> Iterator[Postier]:
    """`postier serve` (mbox, fsync) on a free port, its store under `work/name`."""
    port = free_port()
    store = work / name / "store"
    log = work / name / "postier.log"
    store.parent.mkdir(parents=True)
    command = [
        sys.executable, "-m", "postier", "serve",
        "--host", HOST, "--port", str(port), "--store", str(store),
        "--hostname", "bench.test", "--no-http", "--log-level", "warning",
        "--max-connections", "1000", *options,
    ]  # fmt: skip
    figures.commands.append(shlex.join(command))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_DIR / "src"), str(REPO_DIR)]))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_greeting(port, process, log, "postier")
        yield Postier(port, process, store)
    finally:
        stop_group(process)


@dataclass
class Upstream:
    """An SMTP server postier relays to, and how to tell it has `count` messages."""

    name: str
    port: int
    has: Callable[[int], bool]
    """Given how many were sent: has it (or has it acknowledged) them all?"""


@contextlib.contextmanager
def smtp_sink(work: Path, figures: Figures, port: int | None = None) -> Iterator[Upstream]:
    sink = find_program("smtp-sink")
    if sink is None:
        raise RuntimeError("smtp-sink is not installed (Debian: apt-get install postfix)")
    port = port or free_port()
    command = [sink, "-h", "sink.test"]
    if os.geteuid() == 0:
        command += ["-u", "postfix"]  # smtp-sink refuses to run as root
    command += [f"{HOST}:{port}", "1024"]
    figures.commands.append(shlex.join(command))
    log = work / f"smtp-sink-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_greeting(port, process, log, "smtp-sink")
        yield Upstream("smtp-sink", port, lambda _count: False)
    finally:
        stop_group(process)


@contextlib.contextmanager
def postfix(figures: Figures, port: int | None = None) -> Iterator[Upstream]:
    import pytest
    from tests.support.postfix import PostfixProcess

    try:
        # Postfix's own input throttle (in_flow_delay) would slow the upstream's intake
        # to its delivery: here it takes as fast as it can, and delivers as it can.
        process = PostfixProcess(options={"in_flow_delay": "0s"}, port=port)
    except pytest.skip.Exception as skipped:
        raise RuntimeError(str(skipped)) from None
    figures.commands.append(
        f"postfix -c {process.conf} start  # main.cf and master.cf: tests/support/postfix.py"
    )
    with process:
        yield Upstream("Postfix", process.port, lambda count: process.count() >= count)


# --------------------------------------------------------------------------- load


def message(number: int) -> bytes:
    body = (f"message {number} ".encode() * (LENGTH // 8 + 1))[:LENGTH]
    lines = [body[i : i + 76] for i in range(0, len(body), 76)]
    return (
        (
            f"From: <{SENDER}>\r\nTo: <r{number % 10}@{DOMAIN}>\r\n"
            f"Subject: relay bench {number}\r\n"
            f"Message-ID: <{number}.{time.time_ns()}@bench.test>\r\n"
            "\r\n"
        ).encode()
        + b"\r\n".join(lines)
        + b"\r\n"
    )


def send_all(port: int, count: int, clients: int) -> float:
    """Send `count` messages over `clients` connections at once; seconds until the last 250."""
    errors: list[BaseException] = []

    def client(first: int) -> None:
        try:
            with smtplib.SMTP(HOST, port, timeout=120) as smtp:
                start.wait()
                for number in range(first, count, clients):
                    smtp.sendmail(SENDER, [f"r{number % 10}@{DOMAIN}"], message(number))
        except BaseException as exc:
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                start.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(min(clients, count))]
    start = threading.Barrier(len(threads) + 1)
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
        began = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]!r}")
    return time.perf_counter() - began


def wait_until(done: Callable[[], bool], timeout: float, what: str, every: float = 0.02) -> None:
    """Poll `done` every `every` seconds (a look at a long queue is not free: the server
    shares the machine's two cores with it)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def queue_empty(store: Path) -> Callable[[], bool]:
    queue = OutboundQueue(store)
    return lambda: not queue.names()


# --------------------------------------------------------------------------- (a) rate


def accept_rate(work: Path, figures: Figures, count: int, clients: int) -> float:
    with postier(work, "no-relay", figures) as server:
        took = send_all(server.port, count, clients)
    rate = count / took
    figures.put(f"accept, no relay: {count} messages, {clients} clients (msg/s)", f"{rate:,.0f}")
    return rate


def relay_rate(
    work: Path, figures: Figures, target: str, *, count: int, clients: int, accept: float
) -> None:
    running = postfix(figures) if target == "postfix" else smtp_sink(work, figures)
    with running as upstream:
        options = ("--relay", f"{HOST}:{upstream.port}", "--relay-match", ".*")
        with postier(work, f"relay-{target}", figures, *options) as server:
            began = time.perf_counter()
            accepted = send_all(server.port, count, clients)
            empty = queue_empty(server.store)
            wait_until(empty, 600, f"postier's queue to {upstream.name} emptied")
            emptied = time.perf_counter() - began
            wait_until(lambda: upstream.has(count) or empty(), 600, f"{upstream.name} got all")
            if upstream.name == "Postfix":
                wait_until(lambda: upstream.has(count), 600, "Postfix delivered all")
            arrived = time.perf_counter() - began
    label = f"relay to {upstream.name}"
    figures.put(f"{label}: accept rate, relay on (msg/s)", f"{count / accepted:,.0f}")
    figures.put(f"{label}: relayed, until the queue is empty (msg/s)", f"{count / emptied:,.0f}")
    if upstream.name == "Postfix":
        figures.put(f"{label}: until Postfix delivered all (msg/s)", f"{count / arrived:,.0f}")
    figures.put(
        f"{label}: relay rate / accept rate without relay", f"{count / arrived / accept:.2f}"
    )


# --------------------------------------------------------------------------- (b) a long queue


def stored_only(work: Path, figures: Figures, count: int, clients: int) -> int:
    """The control for (b)'s memory: the same messages into a postier that relays nothing."""
    with postier(work, "control", figures) as server:
        before = server.rss_kib()
        send_all(server.port, count, clients)
        after = server.rss_kib()
    figures.put(
        f"control, no relay: VmRSS before; after {count:,} stored (MiB)",
        f"{before / 1024:.1f}; {after / 1024:.1f}",
    )
    return after - before


def long_queue(
    work: Path, figures: Figures, target: str, *, count: int, clients: int, control_kib: int
) -> None:
    port = free_port()  # nobody listens here until the upstream comes up
    options = ("--relay", f"{HOST}:{port}", "--relay-match", ".*", "--relay-retry", "3600")
    with postier(work, "long-queue", figures, *options) as server:
        queue = OutboundQueue(server.store)
        before = server.rss_kib()
        took = send_all(server.port, count, clients)
        figures.put(f"queue {count:,}, upstream down: accept rate (msg/s)", f"{count / took:,.0f}")
        # Each is tried once at intake (the port refuses) and put off an hour.
        wait_until(lambda: _all_tried(queue, count), 600, "every entry tried once", every=1.0)
        after = server.rss_kib()
        figures.put("  VmRSS before (MiB)", f"{before / 1024:.1f}")
        figures.put(f"  VmRSS with {count:,} queued (MiB)", f"{after / 1024:.1f}")
        figures.put(
            "  growth per queued message (bytes)", f"{(after - before) * 1024 / count:,.0f}"
        )
        figures.put(
            "  of which the queue's: over the control (bytes per message)",
            f"{(after - before - control_kib) * 1024 / count:,.0f}",
        )
        looks = []
        for _ in range(5):
            began = time.perf_counter()
            entries = queue.entries()
            looks.append(time.perf_counter() - began)
            assert len(entries) == count, len(entries)
        figures.put(
            f"  OutboundQueue.entries() of {count:,}: median/max of 5 (ms)",
            f"{statistics.median(looks) * 1000:,.0f}/{max(looks) * 1000:,.0f}",
        )
        running = postfix(figures, port) if target == "postfix" else smtp_sink(work, figures, port)
        with running as upstream:
            began = time.perf_counter()
            queue.request_flush()
            empty = queue_empty(server.store)
            wait_until(empty, 1800, f"the queue drained to {upstream.name}")
            drained = time.perf_counter() - began
            if upstream.name == "Postfix":
                wait_until(lambda: upstream.has(count), 600, "Postfix delivered all")
            arrived = time.perf_counter() - began
        figures.put(
            f"  drain {count:,} to {upstream.name}, flush to empty queue (s; msg/s)",
            f"{drained:.1f}; {count / drained:,.0f}",
        )
        if upstream.name == "Postfix":
            figures.put(
                "  until Postfix delivered all (s; msg/s)", f"{arrived:.1f}; {count / arrived:,.0f}"
            )
        figures.put("  VmRSS after the drain; VmHWM (MiB)", f"{server.rss_kib() / 1024:.1f}; "
                    f"{server.hwm_kib() / 1024:.1f}")  # fmt: skip


def _all_tried(queue: OutboundQueue, count: int) -> bool:
    if len(queue.names()) < count:
        return False
    entries = queue.entries()
    return len(entries) == count and all(entry.attempts >= 1 for entry in entries)


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="N of (a)")
    parser.add_argument("--queued", type=int, default=10_000, help="Q of (b)")
    parser.add_argument("--clients", type=int, default=10, help="concurrent smtplib clients")
    parser.add_argument(
        "--targets", default="postfix,sink", help="upstreams for (a), comma-separated"
    )
    parser.add_argument(
        "--queue-target",
        choices=("postfix", "sink"),
        default=None,
        help="the upstream (b) drains to (default: the first of --targets)",
    )
    parser.add_argument("--skip", default="", help="parts to leave out: a, b")
    parser.add_argument("--quick", action="store_true", help="N 300, Q 1,000")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the stores behind")
    opts = parser.parse_args()
    if opts.quick:
        opts.messages, opts.queued = 300, 1000
    targets = [t for t in opts.targets.split(",") if t]
    if any(t not in {"postfix", "sink"} for t in targets):
        parser.error("--targets takes postfix and sink")
    work = Path(tempfile.mkdtemp(prefix="relay-bench-", dir=opts.workdir))
    figures = Figures()
    failed: list[str] = []
    try:
        if "a" not in opts.skip:
            accept = accept_rate(work, figures, opts.messages, opts.clients)
            for target in targets:
                try:
                    relay_rate(
                        work, figures, target, count=opts.messages, clients=opts.clients,
                        accept=accept,
                    )  # fmt: skip
                except RuntimeError as exc:
                    failed.append(f"(a) {target}: {exc}")
        if "b" not in opts.skip:
            target = opts.queue_target or targets[0]
            try:
                control = stored_only(work, figures, opts.queued, opts.clients)
                long_queue(
                    work, figures, target, count=opts.queued, clients=opts.clients,
                    control_kib=control,
                )  # fmt: skip
            except RuntimeError as exc:
                failed.append(f"(b) {target}: {exc}")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(figures, opts)
    for failure in failed:
        print(f"FAILED {failure}")
    return 1 if failed else 0


def report(figures: Figures, opts: argparse.Namespace) -> None:
    print(
        f"relay benchmark: {platform.platform()}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}"
    )
    print(
        f"N {opts.messages:,} messages of {LENGTH} bytes, Q {opts.queued:,}, {opts.clients} clients"
    )
    width = max(len(title) for title, _ in figures.rows) if figures.rows else 0
    for title, value in figures.rows:
        print(f"  {title:<{width}}  {value:>14}")
    print("commands:")
    for command in dict.fromkeys(figures.commands):
        print(f"  {command}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; every server was stopped", file=sys.stderr)
        sys.exit(130)
