"""The batcher tells of each batch as soon as it ran, before the next one runs."""

from __future__ import annotations

from collections.abc import Sequence

from postier.store.batching import Batcher


def test_done_hears_of_each_batch_before_the_next_runs() -> None:
    events: list[tuple[str, list[int]]] = []

    def run(batch: Sequence[int]) -> list[Exception | None]:
        events.append(("run", list(batch)))
        return [ValueError(n) if n == 1 else None for n in batch]

    def done(batch: Sequence[int], errors: Sequence[Exception | None]) -> None:
        events.append(("done", [n for n, e in zip(batch, errors, strict=True) if e is None]))

    batcher: Batcher[int] = Batcher(run, max_batch=2, done=done)
    outcomes = batcher.submit_all([0, 1, 2])
    assert events == [("run", [0, 1]), ("done", [0]), ("run", [2]), ("done", [2])]
    assert [o is None for o in outcomes] == [True, False, True]


def test_a_failing_done_does_not_stop_the_batches() -> None:
    ran: list[list[int]] = []

    def run(batch: Sequence[int]) -> list[Exception | None]:
        ran.append(list(batch))
        return [None for _ in batch]

    def done(batch: Sequence[int], errors: Sequence[Exception | None]) -> None:
        raise RuntimeError("a bug in the caller")

    batcher: Batcher[int] = Batcher(run, max_batch=1, done=done)
    assert batcher.submit_all([0, 1, 2]) == [None, None, None]
    assert ran == [[0], [1], [2]]


def test_a_runner_that_raises_fails_its_batch_alone() -> None:
    def run(batch: Sequence[int]) -> list[Exception | None]:
        if 0 in batch:
            raise RuntimeError("a bug in the store")
        return [None for _ in batch]

    outcomes = Batcher(run, max_batch=2).submit_all([0, 1, 2])
    assert [o is None for o in outcomes] == [False, False, True]
