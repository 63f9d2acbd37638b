#!/usr/bin/env python3
"""Throughput, memory and idle-connection benchmark of `postier serve`.

postier is measured side by side with Postfix's `smtp-sink` (C, discards every message)
and with aiosmtpd (discarding on uvloop, writing mbox with fsync, writing Maildir), each
started on 127.0.0.1 on a free port, under the load of Postfix's `smtp-source -d` (one
connection per session, many messages each). The workloads run interleaved (every server
once, then again), each at least three times; the medians are printed with the ratios
that postier's performance targets use. After each run of a storing server, every
message is looked for in the store (a count, and one message checked in full), and the
store is wiped.

What it needs, and installs nothing unless told to:
- Postfix's `smtp-source` and `smtp-sink`: Debian's `postfix` package
  (`apt-get install postfix`; the mail daemon itself need not run);
- aiosmtpd and uvloop from PyPI, in their own virtual environment
  `benchmarks/.venv-aiosmtpd`, made by `smtp_bench.py --setup`;
- postier importable by this Python (it runs `python -m postier serve` with this
  checkout's `src/` first on PYTHONPATH).

Only the standard library is used here; `aiosmtpd_server.py` runs in the aiosmtpd venv.
This is not a test: nothing here is collected by pytest. `--smoke` is a short run (one
round, 1 % of the messages, postier and smtp-sink only) that a CI job may call.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import multiprocessing
import os
import platform
import resource
import selectors
import shlex
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final, Literal

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
VENV_DIR: Final = BENCH_DIR / ".venv-aiosmtpd"
VENV_PACKAGES: Final = ("aiosmtpd", "uvloop")
AIOSMTPD_SERVER: Final = BENCH_DIR / "aiosmtpd_server.py"
DEFAULT_WORKDIR: Final = BENCH_DIR / ".work"
sys.path.insert(0, str(REPO_DIR))  # tests.support

from tests.support.processes import session_pids  # noqa: E402

HOST: Final = "127.0.0.1"
HOSTNAME: Final = "bench.test"
SENDER: Final = "bench@test.com"
RECIPIENT: Final = "rcpt@test.com"
POSTIER_MAX_SIZE: Final = "128M"  # workload e sends 100 MiB, over postier's 32M default
MIB: Final = 1024 * 1024

Storage = Literal["mbox", "maildir"]


# --------------------------------------------------------------------------- the cast


@dataclass(frozen=True)
class Workload:
    name: str
    sessions: int
    messages: int
    length: int
    about: str

    def scaled(self, scale: float) -> int:
        return max(1, round(self.messages * scale))

    def options(self, scale: float) -> str:
        return f"-s {self.sessions} -m {self.scaled(scale)} -l {self.length}"


WORKLOADS: Final = {
    w.name: w
    for w in (
        Workload("a", 20, 20000, 1024, "20 sessions, 1 KiB"),
        Workload("b", 100, 20000, 1024, "100 sessions, 1 KiB"),
        Workload("c", 1, 5000, 1024, "1 session, 1 KiB (latency)"),
        Workload("d", 10, 200, MIB, "10 sessions, 1 MiB"),
        Workload("e", 1, 1, 100 * MIB, "1 session, one 100 MiB message"),
    )
}


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    kind: Literal["sink", "aiosmtpd", "postier"]
    storage: Storage | None
    options: tuple[str, ...] = ()
    workloads: str = ""
    """The workloads it runs (their names); all when empty."""


SERVERS: Final = {
    s.name: s
    for s in (
        Server("smtp-sink", "Postfix smtp-sink (C, discards)", "sink", None),
        Server("aiosmtpd-uvloop", "aiosmtpd + uvloop, discards", "aiosmtpd", None),
        Server("aiosmtpd-mbox", "aiosmtpd, mbox + fsync", "aiosmtpd", "mbox"),
        Server("aiosmtpd-maildir", "aiosmtpd, Maildir (no fsync)", "aiosmtpd", "maildir"),
        Server("postier", "postier, mbox + fsync (default)", "postier", "mbox"),
        Server("postier-no-fsync", "postier --no-fsync", "postier", "mbox", ("--no-fsync",)),
        Server(
            "postier-no-index",
            "postier --no-index (mbox + fsync)",
            "postier",
            "mbox",
            ("--no-index",),
        ),
        Server(
            "postier-maildir",
            "postier --format maildir",
            "postier",
            "maildir",
            ("--format", "maildir"),
        ),
        Server(
            "postier-w2",
            "postier --workers 2 (mbox + fsync)",
            "postier",
            "mbox",
            ("--workers", "2"),
            workloads="ab",
        ),
        Server(
            "postier-w2-no-fsync",
            "postier --workers 2 --no-fsync",
            "postier",
            "mbox",
            ("--workers", "2", "--no-fsync"),
            workloads="ab",
        ),
    )
}
SMOKE_SERVERS: Final = ("smtp-sink", "postier")
IDLE_SERVERS: Final = ("postier", "postier-w2", "aiosmtpd-uvloop")


@dataclass
class Tools:
    """Where the outside programs are, and how each server is started."""

    smtp_source: str
    smtp_sink: str
    aiosmtpd_python: str
    aiosmtpd_uvloop_everywhere: bool
    postier_extra: tuple[str, ...]

    def command(self, server: Server, port: int, store: Path) -> list[str]:
        if server.kind == "sink":
            command = [self.smtp_sink, "-h", HOSTNAME]
            if os.geteuid() == 0:
                command += ["-u", "root"]  # required when smtp-sink starts as root
            return [*command, f"{HOST}:{port}", "1024"]
        if server.kind == "aiosmtpd":
            mode = server.storage or "discard"
            loop = "uvloop" if mode == "discard" or self.aiosmtpd_uvloop_everywhere else "asyncio"
            return [
                self.aiosmtpd_python,
                str(AIOSMTPD_SERVER),
                *("--port", str(port), "--store", str(store), "--hostname", HOSTNAME),
                *("--mode", mode, "--loop", loop),
            ]
        return [
            sys.executable,
            *("-m", "postier", "serve", "--port", str(port), "--store", str(store)),
            *("--hostname", HOSTNAME, "--log-level", "warning", "--max-connections", "30000"),
            *("--max-size", POSTIER_MAX_SIZE, *server.options, *self.postier_extra),
        ]

    def environment(self, server: Server) -> dict[str, str]:
        env = dict(os.environ)
        if server.kind == "postier":
            paths = [str(REPO_DIR / "src"), *filter(None, [env.get("PYTHONPATH")])]
            env["PYTHONPATH"] = os.pathsep.join(paths)
        return env


# --------------------------------------------------------------------------- needs


def find_program(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/lib/postfix"])
    return shutil.which(name, path=path)


def venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def setup_command() -> str:
    pip = VENV_DIR / "bin" / "pip"
    return (
        f"{shlex.quote(sys.executable)} -m venv {shlex.quote(str(VENV_DIR))} && "
        f"{shlex.quote(str(pip))} install {' '.join(VENV_PACKAGES)}"
    )


def setup_venv() -> int:
    """Creates the aiosmtpd virtual environment (only on `--setup`)."""
    print(f"creating {VENV_DIR} and installing {', '.join(VENV_PACKAGES)} from PyPI")
    if not venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV_DIR)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", *VENV_PACKAGES]
    subprocess.run(pip, check=True)
    probe = "import aiosmtpd, uvloop; print('aiosmtpd', aiosmtpd.__version__)"
    subprocess.run([str(venv_python()), "-c", probe], check=True)
    return 0


def check_needs(servers: Sequence[Server], args: argparse.Namespace) -> Tools | None:
    """Finds what the chosen servers need; says what is missing and how to get it."""
    missing: list[str] = []
    source, sink = find_program("smtp-source"), find_program("smtp-sink")
    postfix_hint = "Postfix's {} (Debian: apt-get install postfix; the daemon need not run)"
    if source is None:
        missing.append(postfix_hint.format("smtp-source"))
    if sink is None and any(s.kind == "sink" for s in servers):
        missing.append(postfix_hint.format("smtp-sink"))
    python = args.aiosmtpd_python or str(venv_python())
    if any(s.kind == "aiosmtpd" for s in servers):
        probe = [python, "-c", "import aiosmtpd, uvloop"]
        if (
            not Path(python).exists()
            or subprocess.run(probe, capture_output=True, check=False).returncode
        ):
            missing.append(
                f"aiosmtpd and uvloop in their own venv ({python}): run\n"
                f"      {shlex.quote(sys.executable)} {shlex.quote(sys.argv[0])} --setup\n"
                f"    which runs: {setup_command()}\n"
                "    (or leave the aiosmtpd servers out with --only)"
            )
    if any(s.kind == "postier" for s in servers):
        env = dict(os.environ, PYTHONPATH=str(REPO_DIR / "src"))
        probe = [sys.executable, "-c", "import postier.cli"]
        if subprocess.run(probe, env=env, capture_output=True, check=False).returncode:
            missing.append(
                f"postier and its dependencies for {sys.executable}: pip install -e {REPO_DIR}"
            )
    if missing:
        print("missing:\n" + "\n".join(f"  - {m}" for m in missing), file=sys.stderr)
        return None
    return Tools(
        smtp_source=source or "",
        smtp_sink=sink or "",
        aiosmtpd_python=python,
        aiosmtpd_uvloop_everywhere=args.aiosmtpd_uvloop,
        postier_extra=tuple(shlex.split(args.postier_args)),
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def raise_nofile(wanted: int) -> int:
    """Raises this process's file limit (the servers inherit it); returns the soft one.

    Tries `wanted` (may need privileges to pass the hard limit), else the hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (wanted, hard):
        if limit == resource.RLIM_INFINITY or limit <= soft:
            continue
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, max(limit, hard)))
            return limit
    return soft


def stop_group(process: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM to the process group, SIGKILL after `grace` seconds; always reaps."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure nothing it started stays behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return


def memory_kib(leader: int, key: str) -> int:
    """The sum of `key` (VmRSS, VmHWM) over the server's processes, in KiB."""
    total = 0
    for pid in session_pids(leader) or [leader]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
    return total


def read_greeting(port: int, timeout: float) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        line = b""
        while not line.endswith(b"\n"):
            data = sock.recv(4096)
            if not data:
                break
            line += data
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT\r\n")
            sock.recv(4096)
        return line


@dataclass
class Running:
    server: Server
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def running(tools: Tools, server: Server, store: Path, log: Path) -> Iterator[Running]:
    """Starts `server` on a free loopback port; stops it (and its group) for sure."""
    port = free_port()
    command = tools.command(server, port, store)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=tools.environment(server),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{server.name} exited ({process.returncode}):\n{tail}")
            with contextlib.suppress(OSError):
                if read_greeting(port, 2.0).startswith(b"220"):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not greet within 30 s: {command}")
            time.sleep(0.05)
        yield Running(server, port, process, log)
    finally:
        stop_group(process)


# --------------------------------------------------------------------------- the store


def expected_text_bytes(length: int) -> int:
    """Bytes other than CR and LF in smtp-source's `-l length` payload.

    smtp-source fills the payload with lines of 78 characters, each ended by CRLF at
    offsets 78 and 79 of every 80 bytes, as long as a line fits before the end.
    """
    return length - 2 * ((length - 1) // 80)


def count_mbox(path: Path) -> int:
    """Messages in an mbox: `From ` at the start of a line (mboxrd quotes the others)."""
    count, carry = 0, b"\n"
    with open(path, "rb") as mbox:
        while chunk := mbox.read(16 * MIB):
            count += (carry + chunk).count(b"\nFrom ")
            carry = chunk[-5:]
    return count


def first_mbox_message(path: Path, limit: int) -> bytes:
    with open(path, "rb") as mbox:
        data = b""
        while len(data) < limit and (chunk := mbox.read(4 * MIB)):
            data += chunk
            if (end := data.find(b"\nFrom ", 1)) >= 0:
                return data[: end + 1]
    _, _, rest = data.partition(b"\n")  # drop the `From ` line
    return rest


def check_message(raw: bytes, length: int) -> str | None:
    """Why one stored message is not what smtp-source sent, or None when it is."""
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(b"From "):
        data = data.partition(b"\n")[2]
    head, blank, body = data.partition(b"\n\n")
    if not blank:
        return "no end of header"
    fields = b"\n" + head
    for needed in (f"\nTo: <{RECIPIENT}>", f"\nFrom: <{SENDER}>", "\nMessage-Id: <"):
        if needed.encode() not in fields:
            return f"header {needed.strip()!r} missing"
    text = len(body) - body.count(b"\n")
    if text != expected_text_bytes(length):
        return f"body holds {text} bytes of text, expected {expected_text_bytes(length)}"
    return None


def verify_store(store: Path, storage: Storage, count: int, length: int) -> str | None:
    """Checks that `count` messages of `length` are stored; None when they are."""
    if storage == "mbox":
        path = store / f"{RECIPIENT}.mbox"
        if not path.exists():
            return f"{path.name} missing"
        found = count_mbox(path)
        sample = first_mbox_message(path, 2 * length + MIB)
    else:
        maildir = store / RECIPIENT
        names = [e.path for d in ("new", "cur") for e in os.scandir(maildir / d)]
        found = len(names)
        sample = Path(min(names)).read_bytes() if names else b""
    if found != count:
        return f"{found} messages stored, {count} sent"
    if problem := check_message(sample, length):
        return f"stored message wrong: {problem}"
    return None


def wipe(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- throughput


@dataclass
class RunResult:
    server: str
    workload: str
    round: int
    messages: int
    length: int
    seconds: float = 0.0
    msg_per_s: float = 0.0
    mb_per_s: float = 0.0
    rss_before_kib: int = 0
    peak_rss_kib: int = 0
    error: str | None = None
    log_total: int = 0
    log_top: dict[str, int] = field(default_factory=dict)

    @property
    def growth_kib(self) -> int:
        return self.peak_rss_kib - self.rss_before_kib


def run_source(tools: Tools, workload: Workload, count: int, port: int, timeout: float) -> str:
    """Runs smtp-source to the end; returns its complaint, empty when it succeeded."""
    command = [
        tools.smtp_source,
        "-d",
        *("-s", str(workload.sessions), "-m", str(count), "-l", str(workload.length)),
        *("-f", SENDER, "-t", RECIPIENT, f"{HOST}:{port}"),
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"smtp-source still running after {timeout:.0f} s"
    finally:
        stop_group(process, grace=2)
    if process.returncode:
        text = err.decode(errors="replace").strip()
        return f"smtp-source exit {process.returncode}: {text[-300:]}"
    return ""


def read_log(path: Path) -> tuple[int, dict[str, int]]:
    """How many lines a server logged, and its most frequent ones (at most 10)."""
    counter: Counter[str] = Counter()
    with contextlib.suppress(OSError), open(path, errors="replace") as log:
        for line in log:
            if line.strip():
                counter[line.rstrip()[:240]] += 1
    return sum(counter.values()), dict(counter.most_common(10))


def run_once(
    tools: Tools, server: Server, workload: Workload, round_: int, opts: argparse.Namespace
) -> RunResult:
    count = workload.scaled(opts.scale)
    result = RunResult(server.name, workload.name, round_, count, workload.length)
    store = opts.workdir / "store"
    log = opts.workdir / "logs" / f"{server.name}-{workload.name}-{round_}.log"
    wipe(store)
    try:
        with running(tools, server, store, log) as live:
            pid = live.process.pid
            result.rss_before_kib = memory_kib(pid, "VmRSS")
            start = time.perf_counter()
            complaint = run_source(tools, workload, count, live.port, opts.run_timeout)
            result.seconds = time.perf_counter() - start
            result.peak_rss_kib = memory_kib(pid, "VmHWM")
            if complaint:
                result.error = complaint
            elif server.storage is not None:
                result.error = verify_store(store, server.storage, count, workload.length)
    except RuntimeError as problem:
        result.error = str(problem)
    finally:
        wipe(store)
    result.log_total, result.log_top = read_log(log)
    if result.error is None:
        result.msg_per_s = count / result.seconds
        result.mb_per_s = count * workload.length / result.seconds / 1e6
    return result


# --------------------------------------------------------------------------- idle connections


class Holder:
    """In a child process: opens connections, reads each greeting, keeps the greeted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tally: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.held: list[socket.socket] = []
        self.pending: dict[socket.socket, float] = {}
        self.selector = selectors.DefaultSelector()

    def settle(self, sock: socket.socket, outcome: str, sample: str = "") -> None:
        self.tally[outcome] += 1
        if sample:
            self.samples.setdefault(outcome, sample)
        if outcome == "greeted":
            self.held.append(sock)
        else:
            sock.close()

    def open_one(self) -> None:
        try:
            sock = socket.socket()
            sock.setblocking(False)
        except OSError as problem:
            self.tally["client out of sockets"] += 1
            self.samples.setdefault("client out of sockets", str(problem))
            return
        code = sock.connect_ex((HOST, self.port))
        if code not in (0, errno.EINPROGRESS):
            self.settle(sock, "connect failed", os.strerror(code))
            return
        self.selector.register(sock, selectors.EVENT_READ)
        self.pending[sock] = time.monotonic()

    def read_greetings(self) -> None:
        for key, _ in self.selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            self.selector.unregister(sock)
            del self.pending[sock]
            try:
                data = sock.recv(512)
            except OSError as problem:
                self.settle(sock, "reset", str(problem))
                continue
            if data.startswith(b"220"):
                self.settle(sock, "greeted")
            elif data:
                code = data[:3].decode(errors="replace")
                self.settle(sock, f"refused {code}", repr(data[:120]))
            else:
                self.settle(sock, "closed without a word")

    def expire(self, deadline: float) -> None:
        now = time.monotonic()
        for sock, since in list(self.pending.items()):
            if now - since > 10 or now > deadline:
                self.selector.unregister(sock)
                del self.pending[sock]
                self.settle(sock, "no greeting within 10 s")

    def run(self, count: int, deadline: float) -> None:
        opened = 0
        while (opened < count or self.pending) and time.monotonic() < deadline:
            while opened < count and len(self.pending) < 256:
                opened += 1
                self.open_one()
            self.read_greetings()
            self.expire(deadline)
        self.expire(0)


def hold_connections(port: int, count: int, pipe: Connection) -> None:
    """Opens `count` connections, reports the tally, holds them until told to let go."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)  # the benchmark ends its holders quietly
    holder = Holder(port)
    holder.run(count, time.monotonic() + 180)
    pipe.send({"tally": dict(holder.tally), "samples": holder.samples})
    pipe.poll(900)  # until told to let go; bounded, should the benchmark itself vanish
    for sock in holder.held:
        sock.close()


@dataclass
class IdleResult:
    server: str
    wanted: int
    tally: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    kib_per_connection: float | None = None
    fresh_greeting_ms: float | None = None
    fresh_message_ms: float | None = None
    fresh_error: str | None = None
    error: str | None = None
    log_total: int = 0
    log_top: dict[str, int] = field(default_factory=dict)


def fresh_client(port: int, result: IdleResult) -> None:
    """Times a new client's greeting and one message while the idle ones are held."""
    start = time.perf_counter()
    try:
        with smtplib.SMTP(HOST, port, timeout=30) as client:
            result.fresh_greeting_ms = (time.perf_counter() - start) * 1000
            sent = time.perf_counter()
            client.sendmail(SENDER, [RECIPIENT], b"Subject: fresh\r\n\r\nhello\r\n")
            result.fresh_message_ms = (time.perf_counter() - sent) * 1000
    except (OSError, smtplib.SMTPException) as problem:
        result.fresh_error = f"{type(problem).__name__}: {problem}"


@dataclass
class HolderHandle:
    process: Any  # multiprocessing's Process of the fork context
    pipe: Connection
    reported: bool = False


def open_idle(
    port: int, wanted: int, per_holder: int, holders: list[HolderHandle]
) -> tuple[Counter[str], dict[str, str]]:
    """Spreads `wanted` connections over holder processes (added to `holders`)."""
    context = multiprocessing.get_context("fork")
    tally: Counter[str] = Counter()
    samples: dict[str, str] = {}
    left = wanted
    while left > 0:
        share = min(left, per_holder)
        left -= share
        mine, theirs = context.Pipe()
        process = context.Process(target=hold_connections, args=(port, share, theirs), daemon=True)
        process.start()
        holder = HolderHandle(process, mine)
        holders.append(holder)
        if not mine.poll(240):
            raise RuntimeError("a connection holder did not report")
        report = mine.recv()
        holder.reported = True
        tally.update(report["tally"])
        for key, text in report["samples"].items():
            samples.setdefault(key, text)
    return tally, samples


def release_idle(holders: Sequence[HolderHandle]) -> None:
    """Lets the holders close their connections and exit; ends the unfinished ones."""
    for holder in holders:
        if holder.reported:
            with contextlib.suppress(OSError):
                holder.pipe.send("go")
        else:
            holder.process.terminate()
    for holder in holders:
        holder.process.join(30)
        if holder.process.is_alive():
            holder.process.kill()
            holder.process.join()


def measure_idle(tools: Tools, server: Server, opts: argparse.Namespace) -> IdleResult:
    result = IdleResult(server.name, opts.idle)
    store = opts.workdir / "store"
    log = opts.workdir / "logs" / f"{server.name}-idle.log"
    per_holder = max(100, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64)
    wipe(store)
    holders: list[HolderHandle] = []
    try:
        with running(tools, server, store, log) as live:
            time.sleep(0.3)
            result.rss_before_kib = memory_kib(live.process.pid, "VmRSS")
            try:
                tally, result.samples = open_idle(live.port, opts.idle, per_holder, holders)
                result.tally = dict(tally)
                time.sleep(1.0)
                result.rss_after_kib = memory_kib(live.process.pid, "VmRSS")
                if greeted := tally["greeted"]:
                    growth = result.rss_after_kib - result.rss_before_kib
                    result.kib_per_connection = growth / greeted
                fresh_client(live.port, result)
            finally:
                release_idle(holders)
    except RuntimeError as problem:
        result.error = str(problem)
    finally:
        wipe(store)
    result.log_total, result.log_top = read_log(log)
    return result


# --------------------------------------------------------------------------- report


@dataclass
class Summary:
    msg_per_s: float
    mb_per_s: float
    peak_rss_kib: float
    growth_kib: float
    runs: int
    failed: int


def summarise(results: Sequence[RunResult]) -> dict[tuple[str, str], Summary]:
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for result in results:
        groups.setdefault((result.server, result.workload), []).append(result)
    summary = {}
    for key, group in groups.items():
        good = [r for r in group if r.error is None]
        if not good:
            continue
        summary[key] = Summary(
            msg_per_s=statistics.median(r.msg_per_s for r in good),
            mb_per_s=statistics.median(r.mb_per_s for r in good),
            peak_rss_kib=statistics.median(r.peak_rss_kib for r in good),
            growth_kib=statistics.median(r.growth_kib for r in good),
            runs=len(good),
            failed=len(group) - len(good),
        )
    return summary


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def table(rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Aligned columns: the first `left` ones to the left, the others to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column < left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def throughput_table(
    summary: dict[tuple[str, str], Summary],
    servers: Sequence[Server],
    workloads: Sequence[Workload],
    scale: float,
) -> str:
    rows: list[list[str]] = [["workload", "", *(s.name for s in servers)]]
    metrics: list[tuple[str, Callable[[Summary], str]]] = [
        ("msg/s", lambda s: number(s.msg_per_s)),
        ("MB/s", lambda s: number(s.mb_per_s)),
        (
            "peak RSS MiB (growth)",
            lambda s: f"{s.peak_rss_kib / 1024:.0f} (+{max(0.0, s.growth_kib / 1024):.1f})",
        ),
    ]
    for workload in workloads:
        for index, (metric, show) in enumerate(metrics):
            title = f"{workload.name}: {workload.options(scale)}"
            row = [title if index == 0 else "", metric]
            for server in servers:
                cell = summary.get((server.name, workload.name))
                if server.workloads and workload.name not in server.workloads:
                    row.append("-" if index == 0 else "")  # not run on this workload
                else:
                    row.append(show(cell) if cell else "failed" if index == 0 else "")
            rows.append(row)
    legend = "; ".join(f"{s.name} = {s.label}" for s in servers)
    return table(rows, left=2) + "\n" + legend


RATIOS: Final = (
    ("postier", "smtp-sink"),
    ("postier-no-fsync", "smtp-sink"),
    ("postier-maildir", "smtp-sink"),
    ("postier", "aiosmtpd-mbox"),
    ("postier-maildir", "aiosmtpd-maildir"),
    ("postier-no-fsync", "aiosmtpd-uvloop"),
    ("postier-w2", "smtp-sink"),
    ("postier-w2-no-fsync", "smtp-sink"),
    ("postier-w2", "aiosmtpd-mbox"),
    ("postier-w2", "postier"),
    ("postier-w2-no-fsync", "postier-no-fsync"),
)


def ratio(summary: dict[tuple[str, str], Summary], top: str, bottom: str, wl: str) -> float | None:
    a, b = summary.get((top, wl)), summary.get((bottom, wl))
    return a.msg_per_s / b.msg_per_s if a and b and b.msg_per_s else None


def ratio_table(summary: dict[tuple[str, str], Summary], workloads: Sequence[Workload]) -> str:
    rows = [["ratio of medians (msg/s, the same as MB/s)", *(w.name for w in workloads)]]
    for top, bottom in RATIOS:
        row = [f"{top} ÷ {bottom}"]
        for workload in workloads:
            value = ratio(summary, top, bottom, workload.name)
            row.append("-" if value is None else f"{value:.2f}x")
        if any(cell != "-" for cell in row[1:]):
            rows.append(row)
    return table(rows)


@dataclass
class Target:
    what: str
    figure: float | None
    goal: str
    met: bool | None


def throughput_targets(summary: dict[tuple[str, str], Summary]) -> list[Target]:
    """The targets of the performance issue that the throughput runs measure."""
    targets = []

    def at_least(top: str, bottom: str, workload: str, goal: float) -> None:
        value = ratio(summary, top, bottom, workload)
        met = None if value is None else value >= goal
        targets.append(Target(f"{workload}: {top} ÷ {bottom}", value, f"≥ {goal}x", met))

    for workload in "ab":
        at_least("postier", "aiosmtpd-mbox", workload, 5)
        at_least("postier", "smtp-sink", workload, 0.3)
        at_least("postier-no-fsync", "smtp-sink", workload, 0.5)
    for workload in "ab":  # the same goals, met with two processes on the two cores
        at_least("postier-w2", "aiosmtpd-mbox", workload, 5)
        at_least("postier-w2", "smtp-sink", workload, 0.3)
        at_least("postier-w2-no-fsync", "smtp-sink", workload, 0.5)
    at_least("postier", "smtp-sink", "c", 0.75)
    for workload in "de":
        at_least("postier", "smtp-sink", workload, 0.6)
    for workload in "abc":
        at_least("postier-maildir", "aiosmtpd-maildir", workload, 5)
    big = summary.get(("postier", "e"))
    growth = big.growth_kib / 1024 if big else None
    met = None if growth is None else growth < 16
    targets.append(Target("e: postier RSS growth, MiB", growth, "< 16", met))
    return targets


def idle_targets(idle: Sequence[IdleResult]) -> list[Target]:
    targets = []
    for result in idle:
        if result.server not in ("postier", "postier-w2"):
            continue
        name = result.server
        per = result.kib_per_connection
        targets.append(
            Target(
                f"idle: {name} KiB per connection", per, "≤ 6", None if per is None else per <= 6
            )
        )
        greeted = result.tally.get("greeted", 0)
        targets.append(
            Target(
                f"idle: {name} connections greeted of {result.wanted}",
                greeted,
                f"= {result.wanted}",
                greeted == result.wanted,
            )
        )
        fresh = None
        if result.fresh_greeting_ms is not None and result.fresh_message_ms is not None:
            fresh = result.fresh_greeting_ms + result.fresh_message_ms
        targets.append(
            Target(
                f"idle: {name} fresh client greeted + served, ms",
                fresh,
                "< 1000",
                None if fresh is None else fresh < 1000,
            )
        )
    return targets


def target_table(targets: Sequence[Target]) -> str:
    """The targets this run measured (those whose servers or workloads ran)."""
    rows = [["target (issue 5)", "figure", "goal", "met"]]
    for t in targets:
        if t.figure is None and t.met is None:
            continue
        figure = "-" if t.figure is None else number(t.figure)
        met = "n/a" if t.met is None else "yes" if t.met else "NO"
        rows.append([t.what, figure, t.goal, met])
    skipped = len(targets) + 1 - len(rows)
    note = f"\n({skipped} more need servers or workloads left out of this run)" if skipped else ""
    return table(rows) + note


def idle_table(idle: Sequence[IdleResult]) -> str:
    rows = [
        [
            "server",
            "wanted",
            "outcome",
            "RSS MiB before → after",
            "KiB/conn",
            "fresh 220 ms",
            "fresh msg ms",
        ]
    ]
    for r in idle:
        outcome = ", ".join(f"{n} {what}" for what, n in sorted(r.tally.items())) or "-"
        per = "-" if r.kib_per_connection is None else f"{r.kib_per_connection:.2f}"
        greet = "-" if r.fresh_greeting_ms is None else f"{r.fresh_greeting_ms:.1f}"
        message = "-" if r.fresh_message_ms is None else f"{r.fresh_message_ms:.1f}"
        if r.fresh_error:
            message = "failed"
        before, after = r.rss_before_kib / 1024, r.rss_after_kib / 1024
        rows.append(
            [r.server, str(r.wanted), outcome, f"{before:.1f} → {after:.1f}", per, greet, message]
        )
    notes = []
    for r in idle:
        notes += [f"{r.server}: {what}, e.g. {text}" for what, text in r.samples.items()]
        if r.fresh_error:
            notes.append(f"{r.server}: the fresh client failed: {r.fresh_error}")
    return "\n".join([table(rows), *notes])


def log_report(runs: Sequence[RunResult], idle: Sequence[IdleResult]) -> str:
    """What the servers wrote to their logs (at warning level), per server."""
    seen: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    items: list[RunResult | IdleResult] = [*runs, *idle]
    for item in items:
        totals[item.server] += item.log_total
        seen.setdefault(item.server, Counter()).update(item.log_top)
    lines = []
    for server, counter in seen.items():
        if not totals[server]:
            continue
        lines.append(f"{server}: {totals[server]} log lines in all; most frequent:")
        lines += [f"  {n:6d}  {text}" for text, n in counter.most_common(5)]
    return "\n".join(lines) or "no server wrote anything to its log"


def header(opts: argparse.Namespace, nofile: int) -> str:
    fs = "?"
    with contextlib.suppress(OSError):
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
        work = str(opts.workdir.resolve())
        best = max((m for m in mounts if work.startswith(m[1])), key=lambda m: len(m[1]))
        fs = f"{best[2]} on {best[1]}"
    return (
        f"postier SMTP benchmark · {platform.node()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · {platform.system()} {platform.release()}\n"
        f"rounds {opts.runs} (medians), scale {opts.scale}, store {opts.workdir} ({fs}), "
        f"file limit {nofile}; load: smtp-source -d -f {SENDER} -t {RECIPIENT}"
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "servers: "
            + ", ".join(SERVERS)
            + "; workloads: "
            + "; ".join(f"{w.name} = {w.options(1)} ({w.about})" for w in WORKLOADS.values())
        ),
    )
    parser.add_argument(
        "--setup",
        action="store_true",
        help=f"create {VENV_DIR} (pip install {' '.join(VENV_PACKAGES)}) and exit",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds of every run (default 3)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="factor on message counts (default 1)"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated servers and/or workloads to run, e.g. postier,smtp-sink,a,c",
    )
    parser.add_argument(
        "--idle",
        type=int,
        default=2000,
        help="idle connections to hold against postier and aiosmtpd (0: skip; default 2000)",
    )
    parser.add_argument("--json", type=Path, help="write every raw figure to this file")
    parser.add_argument(
        "--smoke", action="store_true", help="one quick round: scale 0.01, postier and smtp-sink"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where the stores and logs go; keep it off tmpfs, or fsync costs nothing",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=600, help="seconds one smtp-source run may take"
    )
    parser.add_argument(
        "--aiosmtpd-python", help="Python that has aiosmtpd and uvloop (default: the venv's)"
    )
    parser.add_argument(
        "--aiosmtpd-uvloop",
        action="store_true",
        help="run the storing aiosmtpd servers on uvloop too (default: asyncio's loop)",
    )
    parser.add_argument(
        "--postier-args", default="", help="more options for postier serve, e.g. '--workers 2'"
    )
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.runs, opts.scale = 1, 0.01
        opts.idle = min(opts.idle, 200)
        if not any(name.strip() in SERVERS for name in opts.only.split(",")):
            opts.only = ",".join([opts.only, *SMOKE_SERVERS])
    if opts.runs < 1 or opts.scale <= 0:
        parser.error("--runs must be ≥ 1 and --scale > 0")
    return opts


def choose(only: str) -> tuple[list[Server], list[Workload]]:
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS and n not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown in --only: {', '.join(unknown)}")
    servers = [SERVERS[n] for n in names if n in SERVERS] or list(SERVERS.values())
    workloads = [WORKLOADS[n] for n in names if n in WORKLOADS] or list(WORKLOADS.values())
    return servers, workloads


def run_all(
    tools: Tools, servers: Sequence[Server], workloads: Sequence[Workload], opts: argparse.Namespace
) -> list[RunResult]:
    """Every workload on every server, round after round (interleaved)."""
    results = []
    for round_ in range(1, opts.runs + 1):
        for workload in workloads:
            for server in servers:
                if server.workloads and workload.name not in server.workloads:
                    continue
                result = run_once(tools, server, workload, round_, opts)
                results.append(result)
                shown = result.error or (
                    f"{number(result.msg_per_s)} msg/s, {number(result.mb_per_s)} MB/s, "
                    f"peak RSS {result.peak_rss_kib / 1024:.0f} MiB"
                )
                print(
                    f"  round {round_} {workload.name} {server.name:<17} "
                    f"{result.seconds:6.2f} s  {shown}",
                    flush=True,
                )
    return results


def stop_on_signal(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every server is stopped on the way out."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop_on_signal)
    opts = parse_args(argv)
    if opts.setup:
        return setup_venv()
    servers, workloads = choose(opts.only)
    tools = check_needs(servers, opts)
    if tools is None:
        return 2
    nofile = raise_nofile(opts.idle + 4096)
    opts.workdir.mkdir(parents=True, exist_ok=True)
    print(header(opts, nofile), flush=True)
    print("workloads: " + "; ".join(f"{w.name} = {w.options(opts.scale)}" for w in workloads))
    runs = run_all(tools, servers, workloads, opts)
    idle: list[IdleResult] = []
    if opts.idle > 0:
        if opts.idle > nofile - 100:
            print(
                f"note: {opts.idle} idle connections come near the file limit {nofile} "
                "that the servers inherit (the hard limit, which this process cannot "
                "raise): expect the last ones, and the fresh client, to be turned away",
                flush=True,
            )
        for server in servers:
            if server.name in IDLE_SERVERS:
                print(f"  idle: {opts.idle} connections to {server.name}", flush=True)
                idle.append(measure_idle(tools, server, opts))
    summary = summarise(runs)
    print()
    print(throughput_table(summary, servers, workloads, opts.scale))
    print()
    print(ratio_table(summary, workloads))
    if idle:
        print()
        print("idle connections")
        print(idle_table(idle))
    print()
    print(target_table(throughput_targets(summary) + idle_targets(idle)))
    print()
    print(log_report(runs, idle))
    failures = [f"{r.server} {r.workload} round {r.round}: {r.error}" for r in runs if r.error]
    failures += [f"{i.server} idle: {i.error}" for i in idle if i.error]
    for failure in failures:
        print(f"FAILED {failure}")
    if opts.json:
        raw = {
            "settings": {k: str(v) for k, v in vars(opts).items()},
            "runs": [asdict(r) | {"growth_kib": r.growth_kib} for r in runs],
            "idle": [asdict(i) for i in idle],
            "summary": [{"server": s, "workload": w, **asdict(v)} for (s, w), v in summary.items()],
        }
        opts.json.write_text(json.dumps(raw, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"interrupted ({stop or 'SIGINT'}); every server was stopped", file=sys.stderr)
        sys.exit(130)
