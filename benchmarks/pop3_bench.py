#!/usr/bin/env python3
"""RETR of a 100 MB message over POP3: its time, and how much the server's memory grows.

A message of `--size` MiB (76-octet lines, LF-ended as an mbox keeps them, one line in
ten starting with "." so that byte-stuffing works all the way) is filed in a fresh store
by the store itself; `postier serve --pop3-port 0` is started over it, and Python's
poplib logs in (the login reads the message once, to count its size on the wire) and
RETRs it. The server's VmRSS and VmHWM (`/proc/PID/status`) are read after the login
and after the RETR: the growth is what streaming the message cost the server. The bytes
poplib received are checked against the message (CRLF lines, unstuffed) and the size
announced.

    python3 benchmarks/pop3_bench.py [--size 100] [--format mbox|maildir|both]

Not a test: nothing here is collected by pytest. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import poplib
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

REPO_DIR: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "src"))

from postier.store import Envelope, Spool, open_store  # noqa: E402

USER: Final = "bench@exemple.fr"
LINE: Final = b"x" * 75 + b"\n"
DOT_LINE: Final = b"." + b"y" * 74 + b"\n"


def write_message(store: Path, fmt: str, mib: int) -> str:
    """File one message of about `mib` MiB for USER; the SHA-256 of its wire form (the
    trace headers the store adds left out)."""
    lines = mib * 1024 * 1024 // len(LINE)
    block = (LINE * 9 + DOT_LINE) * 1000
    spool = Spool(memory_limit=1 << 20)
    wire = hashlib.sha256()
    head = b"Subject: a large message\n\n"
    spool.write(head)
    wire.update(head.replace(b"\n", b"\r\n"))
    for _ in range(lines // 10_000):
        spool.write(block)
        wire.update(block.replace(b"\n", b"\r\n"))
    envelope = Envelope(
        sender="sender@exemple.fr", recipients=(USER,), helo="bench", peer_ip="127.0.0.1",
        server_name="bench", protocol="ESMTP", queue_id="BENCH",
        received_at=datetime.now(UTC),
    )  # fmt: skip
    with open_store(store, fmt) as mail:  # type: ignore[arg-type]
        mail.deliver(envelope, spool)
    spool.close()
    return wire.hexdigest()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in KiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: int(re.search(rf"{key}:\s+(\d+) kB", text)[1]) for key in ("VmRSS", "VmHWM")}  # type: ignore[index]


def start(store: Path, fmt: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR / "src")}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "postier", "serve", "--host", "127.0.0.1", "--port", "0",
             "--store", str(store), "--format", fmt, "--no-http", "--pop3-port", "0",
             "--auth", "any", "--auth-insecure"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"POP3 on 127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return server, int(found[1])
        if server.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not start")


def bench(fmt: str, mib: int, work: Path) -> None:
    store = work / f"store-{fmt}"
    started = time.perf_counter()
    digest = write_message(store, fmt, mib)
    filed = time.perf_counter() - started
    server, port = start(store, fmt, work / f"server-{fmt}.log")
    try:
        idle = memory(server.pid)
        client = poplib.POP3("127.0.0.1", port, timeout=300)
        poplib._MAXLINE = 1 << 20
        client.user(USER)
        started = time.perf_counter()
        client.pass_("x")
        login = time.perf_counter() - started
        count, size = client.stat()
        before = memory(server.pid)
        started = time.perf_counter()
        response, lines, _ = client.retr(1)
        retr = time.perf_counter() - started
        after = memory(server.pid)
        client.quit()
        received = b"".join(line + b"\r\n" for line in lines)
        del lines
        assert count == 1 and response == b"+OK %d octets" % size, (count, response)
        assert len(received) == size, (len(received), size)
        # The store put its trace headers (Return-Path, Delivered-To, Received) first.
        ours = received[received.index(b"Subject: a large message\r\n") :]
        assert hashlib.sha256(ours).hexdigest() == digest, "the bytes differ"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(
        f"{fmt}: {size / 2**20:.1f} MiB on the wire; filed in {filed:.2f} s; login "
        f"(sizes counted) {login:.2f} s; RETR {retr:.2f} s ({size / 2**20 / retr:.0f} MiB/s)\n"
        f"  server memory (KiB): idle RSS {idle['VmRSS']}; after login RSS "
        f"{before['VmRSS']} peak {before['VmHWM']}; after RETR RSS {after['VmRSS']} peak "
        f"{after['VmHWM']}; growth during RETR: RSS {after['VmRSS'] - before['VmRSS']:+d}, "
        f"peak {after['VmHWM'] - before['VmHWM']:+d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="MiB (default: %(default)s)")
    parser.add_argument("--format", choices=("mbox", "maildir", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postier-pop3-bench-") as work:
        for fmt in ("mbox", "maildir") if args.format == "both" else (args.format,):
            bench(fmt, args.size, Path(work))


if __name__ == "__main__":
    main()
