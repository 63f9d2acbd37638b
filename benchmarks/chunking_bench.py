#!/usr/bin/env python3
"""Does a large message arrive faster with CHUNKING (BDAT, RFC 3030) than with DATA?

Starts `python -m postier serve --port 0` (mbox, fsync on: the defaults) on 127.0.0.1
and sends the same message, at each size, with DATA (dot-stuffed beforehand, streamed
in 1 MiB writes over a raw socket) and with BDAT (in chunks of 1 MiB and of 8 MiB, all
the chunks pipelined, the replies read at the end). The methods run interleaved, each
`--runs` times; the medians are printed as MB/s (10^6 bytes per second of message
octets, from the first octet sent to the final 250) with the ratio BDAT/DATA. After each
run, the server's log line must report the message's exact size and its mbox must
have grown by the message (LF endings) plus the trace headers; the mbox is then removed.

The message is text (78-character lines, some starting with "." or "From "), so that
DATA's dot-stuffing and the store's mbox quoting have work to do.

Only the standard library. Not a test, and not run by CI:

    python3 benchmarks/chunking_bench.py                  # 10 and 100 MiB, 3 runs each
    python3 benchmarks/chunking_bench.py --sizes 10 --runs 5
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
MIB: Final = 1024 * 1024
WRITE: Final = MIB  # the DATA writer's write size
_LISTENING: Final = re.compile(r"listening on [^:\s]+:(\d+)")


def make_message(size: int) -> bytes:
    """`size` octets of text with CRLF endings; some lines need dot-stuffing or quoting."""
    head = b"Subject: chunking benchmark\r\nFrom: a@bench.test\r\n\r\n"
    lines = []
    for n in range(1000):
        text = f"{n:06d} " + "abcdefghijklmnopqrstuvwxyz0123456789" * 2
        if n % 50 == 0:
            text = "." + text
        elif n % 77 == 0:
            text = "From " + text
        lines.append(text[:78].encode() + b"\r\n")
    block = b"".join(lines)
    body = block * ((size - len(head)) // len(block) + 1)
    message = head + body[: size - len(head) - 2]
    return message[: message.rfind(b"\r\n") + 2].ljust(size - 2, b"x") + b"\r\n"


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 §4.5.2, then the end-of-data line."""
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


class Server:
    """One `postier serve` with its store in a temporary directory."""

    def __init__(self, workdir: Path, max_size: int) -> None:
        self.store = workdir / "mail"
        self.log_path = workdir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "postier", "serve", "--host", HOST, "--port", "0",
             "--store", str(self.store), "--hostname", "bench.test",
             "--max-size", str(max_size), "--timeout", "120"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not (match := _LISTENING.search(self.log())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{self.log()}")
            time.sleep(0.05)
        self.port = int(match[1])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()


class Wire:
    """A raw SMTP connection: exact bytes out, reply lines in."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.expect(220)

    def reply(self) -> tuple[int, str]:
        while True:
            while b"\r\n" not in self.buffer:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
                self.buffer += data
            line, _, self.buffer = self.buffer.partition(b"\r\n")
            if line[3:4] != b"-":
                return int(line[:3]), line[4:].decode(errors="replace")

    def expect(self, code: int) -> str:
        got, text = self.reply()
        if got != code:
            raise RuntimeError(f"expected {code}, got {got} {text}")
        return text

    def command(self, line: str, code: int) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.expect(code)

    def close(self) -> None:
        try:
            self.command("QUIT", 221)
        finally:
            self.sock.close()


def send_data(wire: Wire, stuffed: bytes) -> None:
    wire.command("DATA", 354)
    view = memoryview(stuffed)
    for offset in range(0, len(view), WRITE):
        wire.sock.sendall(view[offset : offset + WRITE])
    wire.expect(250)


def send_bdat(wire: Wire, message: bytes, chunk: int) -> None:
    view = memoryview(message)
    count = 0
    for offset in range(0, len(view), chunk):
        piece = view[offset : offset + chunk]
        last = " LAST" if offset + chunk >= len(view) else ""
        wire.sock.sendall(f"BDAT {len(piece)}{last}\r\n".encode())
        wire.sock.sendall(piece)
        count += 1
    for _ in range(count):
        wire.expect(250)


def one_run(server: Server, recipient: str, send: Callable[[Wire], None], size: int) -> float:
    """Seconds from the first message octet to the final 250; the delivery checked."""
    wire = Wire(server.port)
    try:
        wire.command("EHLO bench.client", 250)
        wire.command("MAIL FROM:<a@bench.test>", 250)
        wire.command(f"RCPT TO:<{recipient}>", 250)
        start = time.perf_counter()
        send(wire)
        elapsed = time.perf_counter() - start
    finally:
        wire.close()
    check_stored(server, recipient, size)
    return elapsed


def check_stored(server: Server, recipient: str, size: int) -> None:
    accepted = rf"accepted \S+ from <a@bench.test> for <{re.escape(recipient)}> .*?(\d+) bytes"
    sizes = re.findall(accepted, server.log())
    if sizes != [str(size)]:
        raise RuntimeError(f"{recipient}: the log reports {sizes}, expected [{size}]")
    mbox = server.store / f"{recipient}.mbox"
    stored = mbox.stat().st_size
    # LF endings: one octet less per line; then the From line, trace headers, quoting.
    least = size - size // 80
    if not least <= stored <= size + 4096:
        raise RuntimeError(f"{recipient}: mbox of {stored} octets for a {size}-octet message")
    mbox.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100], metavar="MIB")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 8], metavar="MIB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; mbox, fsync on; "
          f"{args.runs} runs each, interleaved; medians")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="chunking-bench-") as tmp:
        server = Server(Path(tmp), max_size=max(args.sizes) * MIB + MIB)
        try:
            for mib in args.sizes:
                bench_size(server, mib, args.chunks, args.runs)
        finally:
            server.stop()


def bench_size(server: Server, mib: int, chunks: list[int], runs: int) -> None:
    message = make_message(mib * MIB)
    stuffed = dot_stuff(message)
    methods: dict[str, Callable[[Wire], None]] = {"DATA": lambda w: send_data(w, stuffed)}
    for chunk in chunks:
        methods[f"BDAT {chunk} MiB"] = lambda w, c=chunk: send_bdat(w, message, c * MIB)
    times: dict[str, list[float]] = {name: [] for name in methods}
    serial = 0
    for _ in range(runs):
        for name, send in methods.items():
            serial += 1
            recipient = f"r{mib}-{serial}@bench.test"
            times[name].append(one_run(server, recipient, send, len(message)))
    data_rate = len(message) / statistics.median(times["DATA"]) / 1e6
    print(f"\n{mib} MiB message ({len(message)} octets; DATA sends {len(stuffed)} stuffed)")
    print(f"  {'method':<12} {'median s':>9} {'MB/s':>8} {'vs DATA':>8}   runs (s)")
    for name, values in times.items():
        median = statistics.median(values)
        rate = len(message) / median / 1e6
        runs_text = " ".join(f"{v:.3f}" for v in values)
        print(f"  {name:<12} {median:9.3f} {rate:8.1f} {rate / data_rate:7.2f}x   {runs_text}")


if __name__ == "__main__":
    main()
