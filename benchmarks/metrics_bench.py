#!/usr/bin/env python3
"""What `--metrics` costs SMTP: `postier serve` with and without it, same workload.

Postfix's `smtp-source -d` sends N messages (1 KiB, 20 sessions at once, many
messages each) to `postier serve` (mbox, fsync on, HTTP API on a free port), once
without `--metrics` and once with it, alternately, R rounds of each (the order of the
pair flips each round, so neither always runs on a warmer machine). The figure is
messages per second, from smtp-source's start to its end; the medians are printed
with their ratio (on / off: 1.00 means it costs nothing). After each run with metrics
the server's `/metrics` is scraped and its count of messages accepted checked against
N, so the counters did count what was measured.

Since a loaded machine's noise can exceed the difference, it also times, in this
process, what `--metrics` adds to one message (a session opened and closed, its bytes,
its 250 counted, its latency and its batch's flush observed): microseconds a message,
to set against the milliseconds a message takes.

It is not a test: nothing here is collected by pytest. Each server runs on a store of
its own under a temporary directory, wiped at the end.

    python benchmarks/metrics_bench.py                  # N 5,000, R 5
    python benchmarks/metrics_bench.py -n 1000 -r 3     # quicker
    python benchmarks/metrics_bench.py --no-fsync       # the store's disk out of it

Needs Postfix's `smtp-source` (Debian's `postfix`; the daemon need not run) and
prometheus-client (a dependency of postier).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from smtp_bench import find_program, free_port, read_greeting, stop_group

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
HOST: Final = "127.0.0.1"
SESSIONS: Final = 20
LENGTH: Final = 1024
_ACCEPTED = re.compile(r"^postier_smtp_messages_accepted_total (\S+)$", re.M)


def start(store: Path, log: Path, extra: Sequence[str]) -> tuple[subprocess.Popen[bytes], int, str]:
    """`postier serve` on a free port; (process, SMTP port, HTTP base URL)."""
    port, http_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "postier", "serve", "--host", HOST, "--port", str(port),
        "--store", str(store), "--http-port", str(http_port), "--log-level", "warning",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{REPO_DIR / 'src'}{os.pathsep}{REPO_DIR}"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if read_greeting(port, 2.0).startswith(b"220"):
                return process, port, f"http://{HOST}:{http_port}"
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_group(process)
    raise RuntimeError(f"postier did not start:\n{log.read_text(errors='replace')}")


def send_all(smtp_source: str, port: int, count: int) -> float:
    """smtp-source to the end; the seconds it took."""
    command = [
        smtp_source, "-d", "-s", str(SESSIONS), "-m", str(count), "-l", str(LENGTH),
        "-f", "bench@example.org", "-t", "sink@example.org", f"{HOST}:{port}",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, timeout=600, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"smtp-source exit {done.returncode}: {done.stderr[-300:]!r}")
    return seconds


def scraped_accepted(url: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as reply:
        text = reply.read().decode()
    found = _ACCEPTED.search(text)
    return float(found[1]) if found else -1.0


def run_once(smtp_source: str, work: Path, label: str, count: int, extra: list[str]) -> float:
    """One server, one workload: messages per second."""
    store = work / f"store-{label}"
    process, port, url = start(store, work / f"{label}.log", extra)
    try:
        seconds = send_all(smtp_source, port, count)
        if "--metrics" in extra and (accepted := scraped_accepted(url)) != count:
            raise RuntimeError(f"/metrics counted {accepted:.0f} messages accepted, not {count}")
    finally:
        stop_group(process)
        subprocess.run(["rm", "-rf", str(store)], check=False)
    return count / seconds


def per_message_cost(repeat: int = 200_000) -> float:
    """Microseconds the metrics of one accepted message take (best of 5 runs)."""
    import timeit

    from postier.metrics import Metrics

    metrics = Metrics()

    def one_message() -> None:
        metrics.session_opened()
        metrics.received_bytes.inc(LENGTH)
        metrics.accepted.inc()
        metrics.delivery.observe(0.003)
        metrics.flush.observe(0.002)
        metrics.session_closed()

    best = min(timeit.repeat(one_message, number=repeat, repeat=5))
    return best / repeat * 1e6


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--messages", type=int, default=5000, help="per run")
    parser.add_argument("-r", "--rounds", type=int, default=5, help="runs of each")
    parser.add_argument("--no-fsync", action="store_true", help="postier serve --no-fsync")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    smtp_source = find_program("smtp-source")
    if smtp_source is None:
        print("smtp-source not found: apt-get install postfix", file=sys.stderr)
        return 2
    base = ["--no-fsync"] if opts.no_fsync else []
    variants = {"off": base, "on": [*base, "--metrics"]}
    rates: dict[str, list[float]] = {"off": [], "on": []}
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; {opts.messages} messages of {LENGTH} B, "
          f"{SESSIONS} sessions, fsync {'off' if opts.no_fsync else 'on'}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="postier-metrics-bench-") as work:
        for round_ in range(opts.rounds):
            order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
            for label in order:
                rate = run_once(smtp_source, Path(work), label, opts.messages, variants[label])
                rates[label].append(rate)
                print(f"round {round_ + 1} metrics {label:3}: {rate:8.0f} msg/s", flush=True)
    off, on = (statistics.median(rates[k]) for k in ("off", "on"))
    print()
    print(f"median --metrics off: {off:8.0f} msg/s")
    print(f"median --metrics on : {on:8.0f} msg/s")
    print(f"ratio on/off        : {on / off:8.3f}")
    cost = per_message_cost()
    print(f"metrics per message : {cost:8.2f} us (in process; {cost * off / 1e4:.3f} % "
          f"of a message at the median rate without them)")  # fmt: skip
    print("server:", shlex.join(["postier", "serve", *variants["on"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
