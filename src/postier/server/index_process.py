"""A server's index kept up to date by a process of its own (`index_child`).

Indexing a message (parsing it, its words, its rows) costs about as much interpreter
time as receiving it; done on a thread of the server, it takes that time from the
clients (one interpreter lock for both), and at a few thousand messages a second the
two together need more than the one lock can give, so the index falls behind while
the clients slow down. In a process of its own it runs on another processor.

The `Indexer`'s thread still decides when and what to index; each round is one request
line to the child and one answer line back, whose changes are announced to this
process's reader's subscribers as a sync here would announce them. A child that dies
(killed, out of memory) is started again and asked again, once: the files are the
truth, so nothing a round was doing is lost, only redone. If the new one dies too,
the rounds are run in this process from then on, and the log says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
from typing import IO, Final

from postier.store.read import Change, HereRounds, Reader

log = logging.getLogger("postier.store")

CLOSE_WAIT: Final = 30.0
"""Seconds the child has, once told to stop, to finish its round before it is killed."""


class ChildGoneError(Exception):
    """The indexing process ended or cannot be reached."""


class ProcessRounds:
    """The index's rounds, run by a child process (started here)."""

    def __init__(self, reader: Reader, *, program: list[str] | None = None) -> None:
        self.reader = reader
        self.program = program or [sys.executable, "-m", "postier.server.index_child"]
        """The child's command, before its arguments."""
        self._here: HereRounds | None = None
        """Set once a child could not be kept running: the rounds are run here."""
        self._child: subprocess.Popen[bytes] | None = None
        self._start()

    @property
    def pid(self) -> int | None:
        """The child's process ID (None while the rounds run in this process)."""
        return None if self._child is None else self._child.pid

    def sync(self, only: set[str] | None) -> None:
        if self._here is None:
            changes: list[Change] | None
            try:
                changes = self._ask(only)
            except ChildGoneError as error:
                log.warning("the indexing process ended (%s): starting another", error)
                changes = self._ask_another(only)
            if changes is not None:
                self.reader.publish(changes)
                return
        assert self._here is not None
        self._here.sync(only)

    def _ask_another(self, only: set[str] | None) -> list[Change] | None:
        """The round asked of a new child; None when it too is gone (the rounds are
        run here from then on)."""
        self._stop()
        try:
            self._start()
            return self._ask(only)
        except (OSError, ChildGoneError) as error:
            log.warning("the indexing process ended again (%s): indexing in this one", error)
            self._stop()
            self._here = HereRounds(self.reader)
            return None

    def close(self) -> None:
        self._stop()

    # -- the child -------------------------------------------------------------------------

    def _start(self) -> None:
        command = [*self.program, str(self.reader.root)]
        if not self.reader.fsync:
            command.append("--no-fsync")
        if self.reader.tags_from_plus:
            command.append("--tags-from-plus")
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        command += ["--log-level", str(level).lower()]
        # A session of its own: a signal sent to the server's process group (Ctrl-C, a
        # supervisor's SIGTERM) is the server's to act on, and would kill a child still
        # starting; the server closes the child's stdin when it stops, and the child ends
        # after its round. (Its own session is also its own scheduling group, where the
        # kernel has them: indexing gets a share of the processors beside the server's.)
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )

    def _ask(self, only: set[str] | None) -> list[Change]:
        child = self._child
        if child is None:
            raise ChildGoneError("not running")
        request = {"only": None if only is None else sorted(only)}
        try:
            requests, answers = _pipes(child)
            requests.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
            requests.flush()
            line = answers.readline()
        except OSError:
            raise ChildGoneError(_ending(child)) from None
        if not line:
            raise ChildGoneError(_ending(child))
        answer = json.loads(line)
        if "error" in answer:
            raise RoundFailedError(answer["error"])
        return [Change(kind, mailbox, tuple(ids)) for kind, mailbox, ids in answer["changes"]]

    def _stop(self) -> None:
        """Close the child's stdin (it ends after its round) and reap it."""
        child, self._child = self._child, None
        if child is None:
            return
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # it had gone: nothing to tell it
                    pipe.close()
        try:
            child.wait(CLOSE_WAIT)
        except subprocess.TimeoutExpired:
            log.warning("the indexing process did not stop: killing it")
            child.kill()
            child.wait()


class RoundFailedError(Exception):
    """A round the child ran met trouble (a damaged mailbox, a busy index): logged by
    the indexer, and the next round catches up."""


def _pipes(child: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if child.stdin is None or child.stdout is None:
        raise ChildGoneError("no pipes")
    return child.stdin, child.stdout


def _ending(child: subprocess.Popen[bytes]) -> str:
    try:
        status = child.wait(1)
    except subprocess.TimeoutExpired:
        return "it closed its answers"
    return f"signal {-status}" if status < 0 else f"exit status {status}"
