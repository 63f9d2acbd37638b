"""Ties the parts together: for each crash point of a trace, each state the model allows
(deduplicated by content and promises), recovery on a real copy, then the checks.

In the spirit of ALICE (Pillai et al., OSDI 2014), with the store's own code as the
workload rather than a system-call trace of a separate process: the recorder runs it
in-process (`recorder`), so a mutant made with `monkeypatch` is what gets recorded.
Deviations from the suggested design, and why:
- the model works on inodes (`trace`), not paths: a rename moves an inode whose data is
  judged by its own flushes, which is what makes Maildir's tmp-then-new rename honest;
- a file's unsynced data persists as a prefix (`model`), with no single-write drops
  within one file: the store only ever has one unsynced write per file in flight
  between two of its flushes, besides appends in order;
- the dying batch is a "kill" (`Recorder.die_at_barrier`), not an OS crash: the crash
  states after it cover the OS crash too, since its ops are in the trace unsynced, and
  the recovery that follows is recorded, so crashes during recovery are explored;
- the index (sqlite) is kept in memory (`Reader(memory=True)`), out of the trace: it is
  a cache, rebuilt from the mailboxes by each reader, and sqlite's own I/O does not go
  through Python's `os`;
- mbox change logs name a mailbox by (st_dev, st_ino); in a replayed state the inodes
  are new, so a pending deletion logged before the crash is not applied by the readers.
  That is why a message whose expunge has begun may be seen once or not at all; once
  the expunge returned (the compaction renamed the new file in, durably) it must be gone.

Runs in a few seconds a format: each crash point's states are built in memory, and only
the distinct ones (by content and by what was promised then) are written out, recovered
with the scheme's own start-up recovery, and read.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .checker import Promises, check
from .model import Choice, build, covering_barrier, pending_at, states_at
from .scenario import CommitScheme
from .trace import Note, Trace


@dataclass(frozen=True, slots=True)
class Violation:
    k: int
    """The crash point: after this many ops."""
    choice: Choice
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"crash after op {self.k} ({self.choice.label}): " + "; ".join(self.problems)


@dataclass
class Report:
    ops: int = 0
    crash_points: int = 0
    states: int = 0
    """States the model gave, before deduplication."""
    checked: int = 0
    """Distinct (state, promises) pairs recovered and checked."""
    violations: list[Violation] = field(default_factory=list)


def promises_at(trace: Trace, k: int) -> Promises:
    notes = [op for op in trace.ops[:k] if isinstance(op, Note)]

    def tokens(kind: str) -> frozenset[str]:
        return frozenset(t for note in notes if note.kind == kind for t in note.tokens)

    return Promises(tokens("ack"), tokens("expunge"), tokens("expunged"))


def explore(
    trace: Trace,
    scratch: Path,
    scheme: CommitScheme,
    *,
    random_per_point: int = 2,
    seed: int = 20141006,
    ordered_names: bool = False,
    stop_at: Callable[[Violation], bool] | None = None,
) -> Report:
    """Explore every crash point of `trace`; stop at the first violation `stop_at` accepts."""
    report = Report(ops=len(trace.ops))
    cover = covering_barrier(trace)
    seen: set[tuple[str, Promises]] = set()
    scratch.mkdir(parents=True, exist_ok=True)
    for k in range(len(trace.ops) + 1):
        report.crash_points += 1
        pending = pending_at(trace, k, cover)
        promises = promises_at(trace, k)
        for choice in states_at(
            trace, pending, random_per_point=random_per_point, seed=seed,
            ordered_names=ordered_names,
        ):  # fmt: skip
            report.states += 1
            tree = build(trace, pending, choice)
            key = (tree.digest(), promises)
            if key in seen:
                continue
            seen.add(key)
            report.checked += 1
            state = scratch / f"state-{report.checked}"
            state.mkdir()
            try:
                tree.write_to(state)
                scheme.recover(state, trace.fmt)
                problems = check(state, trace.sent, promises)
            finally:
                shutil.rmtree(state)
            if problems:
                violation = Violation(k, choice, tuple(problems))
                report.violations.append(violation)
                if stop_at is not None and stop_at(violation):
                    return report
    return report
