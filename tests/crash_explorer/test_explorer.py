"""The crash-state explorer on the real store, both formats, and on mutants of it that
each break one durability step: each mutant must be caught, or the explorer proves nothing.

Also the regression test of the bug it found: recovery kept a batch its dead owner had
appended whole (in the page cache) and removed the journal before flushing the mailboxes,
so that a crash then left a torn message with no record left to undo it.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from postier.store import StoreFormat, fileio, flush, journal, maildir, recovery

from .explorer import Report, Violation, explore
from .model import Choice, Pending, build, covering_barrier, pending_at, states_at
from .recorder import Recorder
from .scenario import ALICE, CAROL, JOURNAL, CommitScheme, Workload, run_scenario
from .trace import Barrier, Link, Note, Rename, Trace, Unlink, Write

FORMATS: tuple[StoreFormat, ...] = ("mbox", "maildir")


SCHEMES: tuple[CommitScheme, ...] = (JOURNAL,)
"""Every commit scheme the store has; an xattr-based one joins here."""


def _explore(
    tmp_path: Path,
    fmt: StoreFormat,
    scheme: CommitScheme = JOURNAL,
    stop_at: Callable[[Violation], bool] | None = None,
) -> Report:
    trace = run_scenario(tmp_path / "store", scheme, fmt)
    return explore(trace, tmp_path / "scratch", scheme, stop_at=stop_at)


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda scheme: scheme.name)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_crash_state_keeps_the_promises(
    tmp_path: Path, fmt: StoreFormat, scheme: CommitScheme
) -> None:
    report = _explore(tmp_path, fmt, scheme)
    assert [str(v) for v in report.violations] == []
    # Not vacuous: many crash points, and many distinct states recovered and read.
    assert report.crash_points > 80
    assert report.checked > 100


# -- mutants ---------------------------------------------------------------------------


def _no_flush_before_ack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flush layer returns without flushing: the 250 comes before the data is durable."""
    monkeypatch.setattr(flush, "_fsync", lambda fd: None)


def _keep_every_dead_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery takes every dead batch for complete: a half-appended mbox is not cut back."""
    monkeypatch.setattr(recovery, "is_complete", lambda *args: True)


def _record_not_flushed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal's record is not flushed before the appends it would undo."""
    begin = journal.Journal.begin

    def unsynced(self: journal.Journal, entries: object, *, sync: bool = True) -> object:
        return begin(self, entries, sync=False)  # type: ignore[arg-type]

    monkeypatch.setattr(journal.Journal, "begin", unsynced)


def _new_dir_not_flushed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Maildir answers once its copies are renamed into `new/`, without flushing `new/`."""
    skipping = types.SimpleNamespace(**vars(fileio))
    skipping.fsync_dir = lambda path: None
    monkeypatch.setattr(maildir, "fileio", skipping)


LOST = r": acked m\d+ seen 0 times"
"""A message whose client heard 250 is not there."""
TORN = r"torn"
"""Part of a message is visible."""

MUTANTS: list[tuple[str, StoreFormat, Callable[[pytest.MonkeyPatch], None], str]] = [
    ("no flush before the 250", "mbox", _no_flush_before_ack, LOST),
    ("no flush before the 250", "maildir", _no_flush_before_ack, LOST),
    ("recovery keeps a half-appended batch", "mbox", _keep_every_dead_batch, TORN),
    ("record not flushed before the appends", "mbox", _record_not_flushed, TORN),
    ("new/ not flushed before the 250", "maildir", _new_dir_not_flushed, LOST),
]


@pytest.mark.parametrize(
    ("fmt", "mutate", "symptom"),
    [
        pytest.param(fmt, mutate, symptom, id=f"{fmt}: {name}")
        for name, fmt, mutate, symptom in MUTANTS
    ],
)
def test_a_broken_durability_step_is_caught(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: StoreFormat,
    mutate: Callable[[pytest.MonkeyPatch], None],
    symptom: str,
) -> None:
    mutate(monkeypatch)
    wanted = re.compile(symptom)

    def shows(violation: Violation) -> bool:
        return any(wanted.search(problem) for problem in violation.problems)

    report = _explore(tmp_path, fmt, stop_at=shows)
    assert report.violations, f"the mutant survived {report.checked} states"
    assert shows(report.violations[-1]), "\n".join(str(v) for v in report.violations[:5])


# -- the bug the explorer found ----------------------------------------------------------


def test_recovery_flushes_a_kept_batch_before_removing_its_record(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir(mode=0o700)
    recorder = Recorder(root)
    with recorder.active():
        work = Workload(recorder, JOURNAL, "mbox")
        store = JOURNAL.open(root, "mbox")
        work.deliver(store, ((ALICE, CAROL), 3))
        store.settle()
        # Dies at its mailboxes' flush: appended whole, not flushed, its record durable.
        work.deliver_and_die(store, 2, ((ALICE, CAROL), 3))
        start = len(recorder.trace.ops)
        JOURNAL.open(root, "mbox").close()
    recovered = recorder.trace.ops[start:]
    gone = next(i for i, op in enumerate(recovered) if isinstance(op, Unlink))
    appended = {
        op.inode for op in recorder.trace.ops[:start] if isinstance(op, Write) and op.appends
    }
    flushed = {op.inode for op in recovered[:gone] if isinstance(op, Barrier)}
    mailboxes = {
        op.inode for op in recorder.trace.ops if isinstance(op, Link) and op.name.endswith(".mbox")
    }
    assert mailboxes and mailboxes <= appended
    assert mailboxes <= flushed, "the journal went before the kept batch was flushed"


# -- the model on small traces -------------------------------------------------------------


def _trace(*ops: object) -> Trace:
    trace = Trace(initial_dirs={0: {"tmp": 1, "new": 2}, 1: {}, 2: {}})
    trace.ops.extend(ops)  # type: ignore[arg-type]
    return trace


def _states(trace: Trace, k: int) -> set[tuple[tuple[str, bytes | None], ...]]:
    pending: Pending = pending_at(trace, k, covering_barrier(trace))
    choices: list[Choice] = states_at(
        trace, pending, random_per_point=4, seed=1, ordered_names=False
    )
    return {tuple(build(trace, pending, choice).walk()) for choice in choices}


def test_model_a_flushed_file_renamed_and_its_directory_flushed_is_always_there() -> None:
    trace = _trace(
        Link(1, "x", 3, False), Write(3, 0, b"abcd", True), Barrier(3),
        Rename(1, "x", 2, "x", 3), Barrier(2), Note("ack", ("x",)),
    )  # fmt: skip
    assert _states(trace, len(trace.ops)) == {(("new", None), ("new/x", b"abcd"), ("tmp", None))}


def test_model_unsynced_appends_persist_as_a_prefix_and_names_independently() -> None:
    trace = _trace(Link(1, "x", 3, False), Write(3, 0, b"abcd", True))
    states = _states(trace, len(trace.ops))
    assert (("new", None), ("tmp", None)) in states  # the name never reached the disk
    files = {dict(state).get("tmp/x") for state in states} - {None}
    assert files == {b"", b"ab", b"abcd"}


def test_model_a_rename_not_flushed_may_be_lost_but_never_doubled() -> None:
    trace = _trace(
        Link(1, "x", 3, False), Write(3, 0, b"abcd", True), Barrier(3), Barrier(1),
        Rename(1, "x", 2, "x", 3),
    )  # fmt: skip
    states = [dict(state) for state in _states(trace, len(trace.ops))]
    assert {("tmp/x" in s, "new/x" in s) for s in states} == {(True, False), (False, True)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_trace_replays_to_the_directory_the_store_left(
    tmp_path: Path, fmt: StoreFormat
) -> None:
    """Every step the store took on the disk is in the trace: replayed whole, it gives the
    very tree the run left (an unrecorded write would be a state the explorer never saw)."""
    trace = run_scenario(tmp_path / "store", JOURNAL, fmt)
    pending = pending_at(trace, len(trace.ops), covering_barrier(trace))
    every = states_at(trace, pending, random_per_point=0, seed=1, ordered_names=False)[1]
    assert every.label == "all"
    real: dict[str, bytes | None] = {}
    for directory, subdirs, files in os.walk(tmp_path / "store"):
        for name in subdirs:
            real[os.path.relpath(os.path.join(directory, name), tmp_path / "store")] = None
        for name in files:
            path = Path(directory, name)
            real[os.path.relpath(path, tmp_path / "store")] = path.read_bytes()
    assert dict(build(trace, pending, every).walk()) == real
