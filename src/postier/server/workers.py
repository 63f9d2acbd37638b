"""`--workers N`: N server processes share one port (SO_REUSEPORT) and one store.

One process is one event loop, which tops out at one core. With N workers the kernel
spreads incoming connections over N listening sockets bound to the same address, one in
each process. The store is safe to share between processes (its locks are `fcntl` and
`flock` locks, its journals one per process), but not across a `fork` once used, so each
worker opens its own after the fork.

The parent only supervises:
- it picks the port first (`--port 0` included) by binding a socket of the group, held
  until every worker listens, so the workers all bind the same port;
- it forks the workers, waits until each listens, then logs `listening on HOST:PORT` once
  (what scripts and tests read the port from); if one fails to start, it stops the others
  and fails;
- SIGTERM and SIGINT are passed on to every worker, which stop, and it waits for them
  all; SIGHUP too, on which each worker loads its certificate and password file again;
- with `--metrics`, it makes the directory where every worker writes its figures (the
  first worker's `/metrics` adds them all up), and removes it at the end;
- if a worker dies unexpectedly, the others are stopped and the parent fails, so that
  whatever supervises the server sees it and restarts it whole.

Each worker runs in a process group of its own, so a signal sent to the parent's group
reaches it once, through the parent. A worker whose parent is gone (even by `kill -9`)
notices it on a pipe and stops cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, Final, NoReturn

from postier.server.binding import reserve_port
from postier.server.errors import ServerError
from postier.server.process import announce, run_loop, serve
from postier.server.signals import HANDLED, STOPPING
from postier.settings import Settings

log = logging.getLogger("postier.server")

FORWARDED: Final = HANDLED
"""The signals the parent passes on to its workers."""
_POLL: Final = 0.1
_STOPPED: Final = (0, 130, -signal.SIGTERM, -signal.SIGINT)
"""Exit statuses of a worker that was told to stop (before its handlers, a signal kills)."""


@dataclass(slots=True)
class _Worker:
    index: int
    pid: int
    status: int | None = None
    """The exit status once reaped (as `os.waitstatus_to_exitcode` gives it)."""


def run_workers(settings: Settings) -> None:
    """Run `settings.workers` server processes until a signal stops them.

    Raises ServerError when the port cannot be bound, a worker fails to start, or one
    dies unexpectedly.
    """
    holder = reserve_port(settings.host, settings.port)
    port = int(holder.getsockname()[1])
    share = -(-settings.max_connections // settings.workers)
    with _metrics_dir(settings) as metrics_dir:
        child_settings = replace(
            settings, port=port, max_connections=share, metrics_dir=metrics_dir
        )
        supervisor = _Supervisor(settings.workers)
        try:
            addresses = supervisor.start(child_settings, holder)
        finally:
            holder.close()
        announce(settings, addresses)
        supervisor.wait()


@contextlib.contextmanager
def _metrics_dir(settings: Settings) -> Iterator[Path | None]:
    """`--metrics`: the directory where every worker writes its figures, which the
    first worker's `/metrics` adds up (`postier.metrics`); removed once they are all gone."""
    if not settings.metrics:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="postier-metrics-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class _Supervisor:
    """The parent's side: forks the workers, passes signals on, reaps them."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._workers: list[_Worker] = []
        self._stopping = False
        # Written by every worker; a worker's end closes when the parent dies.
        self._alive_read, self._alive_write = os.pipe()

    def start(self, settings: Settings, holder: socket.socket) -> list[str]:
        """Fork the workers; the addresses they listen on once all do.

        `holder` is the parent's socket on the port, which the workers close.
        """
        ready_read, ready_write = os.pipe()
        # Signals wait until every worker is forked and has its own handlers.
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        try:
            for signum in FORWARDED:
                signal.signal(signum, self._forward)
            for index in range(1, self._count + 1):
                pid = os.fork()
                if pid == 0:
                    holder.close()
                    os.close(ready_read)
                    os.close(self._alive_write)
                    _worker_main(index, settings, ready_write, self._alive_read)
                self._workers.append(_Worker(index, pid))
        finally:
            os.close(ready_write)
            os.close(self._alive_read)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        try:
            return self._await_ready(ready_read)
        finally:
            os.close(ready_read)

    def _await_ready(self, ready: int) -> list[str]:
        lines: list[bytes] = []
        buffer = b""
        while len(lines) < self._count:
            if self._stopping:
                self.wait()
                raise ServerError("stopped while the workers were starting")
            if select.select([ready], [], [], _POLL)[0]:
                buffer += os.read(ready, 4096)
                *done, buffer = buffer.split(b"\n")
                lines += done
            if (dead := self._reap(block=False)) is not None:
                self._stop_all()
                with contextlib.suppress(ServerError):  # the first failure is the news
                    self.wait()
                raise ServerError(f"worker {dead.index} failed to start ({_describe(dead)})")
        return lines[0].decode().split(",")

    def wait(self) -> None:
        """Wait for every worker to end; raise ServerError if one ended unexpectedly."""
        failed: list[_Worker] = []
        while (dead := self._reap(block=True)) is not None:
            if not self._stopping:
                log.error("worker %d died (%s); stopping the others", dead.index, _describe(dead))
                failed.append(dead)
                self._stop_all()
            elif dead.status not in _STOPPED:
                failed.append(dead)
        with contextlib.suppress(OSError):
            os.close(self._alive_write)
        if failed:
            described = ", ".join(f"worker {w.index} ({_describe(w)})" for w in failed)
            raise ServerError(f"{described} ended unexpectedly")

    def _reap(self, *, block: bool) -> _Worker | None:
        """One worker that ended (waiting for one when `block`), or None."""
        while any(w.status is None for w in self._workers):
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            for worker in self._workers:
                if worker.pid == pid:
                    worker.status = os.waitstatus_to_exitcode(status)
                    return worker
        return None

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        if signum in STOPPING:
            self._stopping = True
        for worker in self._workers:
            if worker.status is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)

    def _stop_all(self) -> None:
        self._forward(signal.SIGTERM, None)


def _describe(worker: _Worker) -> str:
    status = worker.status
    if status is not None and status < 0:
        return f"signal {signal.Signals(-status).name}"
    return f"exit status {status}"


# -- in a worker -----------------------------------------------------------------------


def _worker_main(index: int, settings: Settings, ready: int, parent_alive: int) -> NoReturn:
    """A worker's whole life after the fork: run the server, then leave without unwinding
    into the parent's code."""
    status = 1
    try:
        # A group of its own: a signal to the parent's group (Ctrl-C in a terminal, a
        # `kill` of the group) reaches a worker once, through the parent, not twice.
        os.setpgid(0, 0)
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        _tag_log_records(f"worker {index}: ")
        _stop_when_closed(parent_alive)
        # The first worker alone serves the HTTP API (every worker's index is the store's)
        # and POP3 (its roll of held mailboxes is one process's), and sends the outbound queue.
        first = index == 1
        own = replace(
            settings,
            http=settings.http and first,
            pop3_port=settings.pop3_port if first else None,
            pop3s_port=settings.pop3s_port if first else None,
            relay_delivers=first,
        )
        run_loop(serve(own, on_ready=_reporter(index, ready), announce=False))
        status = 0
    except ServerError as exc:
        print(f"postier: worker {index}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        status = 130
    except BaseException:
        traceback.print_exc()
    finally:
        logging.shutdown()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _reporter(index: int, ready: int) -> Callable[[list[str]], None]:
    def report(addresses: list[str]) -> None:
        log.info("ready (pid %d) on %s", os.getpid(), ", ".join(addresses))
        # One short write to a pipe is atomic: lines of several workers never mix.
        os.write(ready, (",".join(addresses) + "\n").encode())
        os.close(ready)

    return report


def _tag_log_records(prefix: str) -> None:
    """Start each log message with `prefix`, so the log tells the workers apart."""
    make = logging.getLogRecordFactory()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.msg = prefix + str(record.msg)
        return record

    logging.setLogRecordFactory(tagged)


def _stop_when_closed(parent_alive: int) -> None:
    """SIGTERM to ourselves once the parent's end of the pipe closes (it died)."""

    def watch() -> None:
        while os.read(parent_alive, 1):
            pass  # nobody writes; b"" means every writer is gone
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="postier-parent-watch", daemon=True).start()
