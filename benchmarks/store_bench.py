"""Measures the store's read side (`postier.store.read.Reader`) against its targets, on
100,000 messages filed four ways: 1,000 mailboxes of 100 and one mailbox of 100,000, each
as mbox and as Maildir (the corpus: `store_corpus.py`).

Prints a table, one row a measure, one column a store, the target beside each figure and
PASS or MISS, then one line naming the misses and by how much; it is not a test (speed
goals are met here, never in a timed unit test). Figures of a repeated call are
`median/p95` in milliseconds, and the verdict is on the p95; one run on a noisy machine,
with the page cache warm (the corpus was just written, or read by the reindex).

    python benchmarks/store_bench.py [--messages 100000] [--mailboxes 1000] [--keep DIR]
    python benchmarks/store_bench.py --quick      # 2,000 messages, 20 mailboxes: seconds
    python benchmarks/store_bench.py --keep DIR --only "mbox 1x100000,maildir 1x100000"

Each run reindexes every store from scratch (its `.postier/` is removed first) and deletes
a few messages of each store (so a kept corpus loses them; its counts are what is found).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import store_corpus
from store_corpus import Manifest, StoreSpec

from postier.store.read import NoSuchMessage, Page, Reader

LOOSE_FRESHNESS = 1e9
"""Seconds: a reader that trusts its last look, so that a call does no `stat` of the store."""
REPORT_EVERY = 5.0
BUDGET = 30.0
"""Seconds a repeated measure may take before it stops at `MIN_REPS` calls."""
MIN_REPS = 10


@dataclass(frozen=True, slots=True)
class Target:
    op: str
    """`<`, `<=` or `>=`."""
    value: float

    def met(self, figure: float) -> bool:
        if self.op == "<":
            return figure < self.value
        if self.op == "<=":
            return figure <= self.value
        return figure >= self.value

    def ratio(self, figure: float) -> float:
        """How far off: > 1 is worse than the target by that factor."""
        if self.op == ">=":
            return self.value / figure if figure else math.inf
        return figure / self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:,.0f}"


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    title: str
    target: Target | None = None


ROWS = [
    Row("reindex", "reindex from scratch (msg/s)", Target(">=", 5_000)),
    Row("index", "index size (% of mailbox bytes)", Target("<=", 50)),
    Row("sync", "freshness check: sync(), no change (ms)"),
    Row("list_one", "newest 50, one mailbox (ms)", Target("<", 10)),
    Row("list_one_fresh", "  same, default freshness (ms)", Target("<", 10)),
    Row("list_all", "newest 50, all mailboxes (ms)", Target("<", 20)),
    Row("list_all_fresh", "  same, default freshness (ms)", Target("<", 20)),
    Row("search_common", "search common word (ms)", Target("<", 50)),
    Row("search_mid", "search mid-frequency word (ms)", Target("<", 50)),
    Row("search_rare", "search rare word (ms)", Target("<", 50)),
    Row("search_from", "search from:alice (ms)", Target("<", 50)),
    Row("view", "view(id) (ms)", Target("<", 5)),
    Row("raw", "open_raw(id) + read (ms)", Target("<", 5)),
    Row("delete_soft", "delete wait=False, until unseen (ms)", Target("<", 50)),
    Row("rewrite_after", "  its background rewrite landed (s)"),
    Row("delete_hard", "delete wait=True, file rewritten (ms)"),
    Row("gone", "deleted messages out of the files"),
]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measure on one store: a value, or the median and p95 of repeated calls."""

    value: float
    p95: float | None = None
    text: str | None = None
    """Shown instead of the number (a yes/no check); `value` 1 is a pass, 0 a miss."""

    def judged(self) -> float:
        return self.value if self.p95 is None else self.p95

    def __str__(self) -> str:
        if self.text is not None:
            return self.text
        if self.p95 is None:
            return f"{self.value:,.0f}" if self.value >= 100 else f"{self.value:.1f}"
        return f"{_short(self.value)}/{_short(self.p95)}"


@dataclass(slots=True)
class Scale:
    list_reps: int = 50
    search_reps: int = 30
    open_reps: int = 200
    soft_deletes: int = 5
    hard_deletes: int = 3


@dataclass(slots=True)
class Results:
    figures: dict[str, dict[str, Figure]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, row: str, store: str, figure: Figure) -> None:
        self.figures.setdefault(row, {})[store] = figure


def _short(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _progress(text: str) -> None:
    print(f"[store_bench] {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.5 is the median of an odd count)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timings(call: Callable[[], object], reps: int, budget: float = BUDGET) -> Figure:
    """Median and p95 of `reps` calls, in milliseconds; fewer calls (at least
    `MIN_REPS`) when they take more than `budget` seconds in all."""
    spent: list[float] = []
    deadline = time.monotonic() + budget
    while len(spent) < reps and (len(spent) < MIN_REPS or time.monotonic() < deadline):
        began = time.perf_counter()
        call()
        spent.append((time.perf_counter() - began) * 1e3)
    return Figure(percentile(spent, 0.5), percentile(spent, 0.95))


# -- the measures ------------------------------------------------------------------------


def reindex(spec: StoreSpec, results: Results) -> None:
    root = Path(spec.path)
    shutil.rmtree(root / ".postier", ignore_errors=True)
    last = [time.monotonic()]

    def progress(read: int, done: int, total: int) -> None:
        if time.monotonic() - last[0] >= REPORT_EVERY:
            last[0] = time.monotonic()
            _progress(f"  {spec.label}: {read:,} messages read, {done}/{total} mailboxes")

    reader = Reader(root)
    try:
        began = time.perf_counter()
        count = reader.reindex(progress)
        spent = time.perf_counter() - began
    finally:
        reader.close()
    results.put("reindex", spec.label, Figure(count / spent))
    results.notes.append(f"{spec.label}: reindexed {count:,} messages in {spent:.1f} s")
    index = sum(_size(root / ".postier" / name) for name in ("index.sqlite3", "index.sqlite3-wal"))
    stored = store_corpus.mailbox_bytes(spec)
    results.put("index", spec.label, Figure(100 * index / stored))
    results.notes.append(
        f"{spec.label}: mailboxes {stored / 2**20:,.1f} MiB, index {index / 2**20:,.1f} MiB"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def listing(spec: StoreSpec, scale: Scale, rng: random.Random, results: Results) -> None:
    for suffix, freshness in (("", LOOSE_FRESHNESS), ("_fresh", 0.0)):
        with Reader(spec.path, freshness=freshness) as reader:
            reader.sync()  # the first look of a new reader: not what a listing costs

            def one(reader: Reader = reader) -> Page:
                return reader.messages(rng.choice(spec.addresses), limit=50)

            results.put(f"list_one{suffix}", spec.label, timings(one, scale.list_reps))
            every = functools.partial(reader.messages, limit=50)
            results.put(f"list_all{suffix}", spec.label, timings(every, scale.list_reps))
            if freshness == 0.0:
                results.put("sync", spec.label, timings(reader.sync, scale.list_reps))


def searching(spec: StoreSpec, manifest: Manifest, scale: Scale, results: Results) -> None:
    queries = {f"search_{kind}": str(word) for kind, (word, _) in manifest.words.items()}
    queries["search_from"] = "from:alice"
    with Reader(spec.path, freshness=LOOSE_FRESHNESS) as reader:
        reader.sync()
        for key, query in queries.items():
            search = functools.partial(reader.messages, query=query, limit=50)
            total = search().total
            results.put(key, spec.label, timings(search, scale.search_reps))
            results.notes.append(f"{spec.label}: search {query!r} matches {total:,} messages")


def opening(spec: StoreSpec, scale: Scale, rng: random.Random, results: Results) -> None:
    with Reader(spec.path, freshness=LOOSE_FRESHNESS) as reader:
        reader.sync()
        ids = rng.sample(sorted(reader.all_ids()), scale.open_reps)
        picks = iter(ids)
        results.put("view", spec.label, timings(lambda: reader.view(next(picks)), len(ids)))
        rng.shuffle(ids)
        picks = iter(ids)

        def raw() -> bytes:
            with reader.open_raw(next(picks)) as stream:
                return stream.read()

        results.put("raw", spec.label, timings(raw, len(ids)))


# -- deletion ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Victim:
    id: str
    mailbox: str
    message_id: str
    path: Path
    """The mbox file, or the Maildir file, that held it."""


def _victims(reader: Reader, spec: StoreSpec, rng: random.Random, count: int) -> list[Victim]:
    """Messages among the newest 50 of one mailbox (so its listing shows whether one is
    gone, and one rewrite of its mbox writes back every deletion)."""
    chosen: list[Victim] = []
    address = rng.choice(spec.addresses)
    while len(chosen) < count:
        summary = rng.choice(reader.messages(address, limit=50).messages)
        if any(victim.id == summary.id for victim in chosen):
            continue
        found = reader.locate(summary.id)
        path = Path(spec.path) / found.entry
        chosen.append(Victim(
            summary.id, address, summary.message_id,
            path if found.in_mbox else path / found.location,
        ))  # fmt: skip
    return chosen


def _shown(reader: Reader, victim: Victim) -> bool:
    try:
        reader.locate(victim.id)
    except NoSuchMessage:
        listed = reader.messages(victim.mailbox, limit=50).messages
        return any(summary.id == victim.id for summary in listed)
    return True


def _until_unseen(readers: list[Reader], victim: Victim, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_shown(reader, victim) for reader in readers):
        if time.monotonic() > deadline:
            raise SystemExit(f"message {victim.id} still shown {timeout:.0f} s after its delete")
        time.sleep(0.001)


def _in_file(victim: Victim, fmt: str) -> bool:
    if fmt == "maildir":
        return victim.path.exists()
    needle = f"\nMessage-ID: {victim.message_id}\n".encode()
    with open(victim.path, "rb") as file:
        return needle in file.read()


def _wait_rewrite(path: Path, inode: int, timeout: float = 600.0) -> None:
    """Return once the mbox at `path` is another file (the compaction's rename)."""
    deadline = time.monotonic() + timeout
    while os.stat(path).st_ino == inode:
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} not rewritten after {timeout:.0f} s")
        time.sleep(0.005)


def deleting(spec: StoreSpec, scale: Scale, rng: random.Random, results: Results) -> None:
    deleter, observer = Reader(spec.path), Reader(spec.path)
    try:
        observer.sync()
        victims = _victims(deleter, spec, rng, scale.soft_deletes + scale.hard_deletes)
        soft, hard = victims[: scale.soft_deletes], victims[scale.soft_deletes :]
        inode = os.stat(soft[0].path).st_ino if spec.format == "mbox" else 0
        spent = []
        began_all = time.perf_counter()
        for victim in soft:
            began = time.perf_counter()
            deleter.delete([victim.id], wait=False)
            _until_unseen([deleter, observer], victim)
            spent.append((time.perf_counter() - began) * 1e3)
        results.put("delete_soft", spec.label, Figure(percentile(spent, 0.5), max(spent)))
        results.notes.append(
            f"{spec.label}: each delete wait=False until unseen, in turn (ms): "
            + ", ".join(_short(ms) for ms in spent)
        )
        if spec.format == "mbox":
            _wait_rewrite(soft[0].path, inode)
            landed = time.perf_counter() - began_all
            results.put("rewrite_after", spec.label, Figure(landed, text=f"{landed:.1f}"))
        deleter.close()  # finishes the background compactions asked for
        deleter = Reader(spec.path)
        spent = []
        for victim in hard:
            began = time.perf_counter()
            deleter.delete([victim.id], wait=True)
            spent.append((time.perf_counter() - began) * 1e3)
            _until_unseen([deleter, observer], victim, timeout=1.0)
        results.put("delete_hard", spec.label, Figure(percentile(spent, 0.5), max(spent)))
    finally:
        deleter.close()
        observer.close()
    left = [victim for victim in victims if _in_file(victim, spec.format)]
    results.put("gone", spec.label, Figure(float(not left), text="yes" if not left else "NO"))
    if left:
        results.notes.append(f"{spec.label}: still in the files: {[v.id for v in left]}")


# -- the report --------------------------------------------------------------------------


def verdict(row: Row, figure: Figure | None) -> str:
    if figure is None:
        return ""
    if row.key == "gone":
        return "PASS" if figure.value else "MISS"
    if row.target is None:
        return ""
    return "PASS" if row.target.met(figure.judged()) else "MISS"


def table(results: Results, stores: list[str]) -> list[str]:
    width = max(len(label) for label in stores) + 6
    head = f"{'measure':<40} {'target':>8}  " + "".join(f"{s:>{width}}" for s in stores)
    lines = [head, "-" * len(head)]
    for row in ROWS:
        cells = []
        for store in stores:
            figure = results.figures.get(row.key, {}).get(store)
            cell = "-" if figure is None else f"{figure} {verdict(row, figure)}".rstrip()
            cells.append(f"{cell:>{width}}")
        target = str(row.target) if row.target else ""
        lines.append(f"{row.title:<40} {target:>8}  " + "".join(cells))
    return lines


def misses(results: Results, stores: list[str]) -> list[str]:
    found = []
    for row in ROWS:
        for store in stores:
            figure = results.figures.get(row.key, {}).get(store)
            if verdict(row, figure) != "MISS":
                continue
            assert figure is not None
            if row.target is None:
                found.append(f"{row.title.strip()} on {store}")
                continue
            ratio = row.target.ratio(figure.judged())
            found.append(
                f"{row.title.strip()} on {store}: {_short(figure.judged())} vs "
                f"{row.target} ({ratio:.1f}x)"
            )
    return found


def revision() -> str:
    """The checkout's commit, and whether `src/` has changes not committed."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" + changes in src/ not committed" if dirty else "")


def describe(manifest: Manifest, kept: bool, commit: str) -> list[str]:
    words = ", ".join(
        f"{kind} {word!r} (in {count:,} messages)" for kind, (word, count) in manifest.words.items()
    )
    built = "kept from an earlier run" if kept else f"built in {manifest.build_seconds:.0f} s"
    return [
        f"postier {commit}",
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        f"corpus: {manifest.messages:,} messages ({built}), mean {manifest.mean_size:,.0f} "
        f"bytes before trace headers, {manifest.attachments:,} with an attachment, "
        f"seed {manifest.seed}",
        f"search words: {words}",
    ]


def measure(manifest: Manifest, scale: Scale, results: Results, stores: list[StoreSpec]) -> None:
    rng = random.Random(manifest.seed)
    for spec in stores:
        _progress(f"{spec.label}: reindex")
        reindex(spec, results)
        _progress(f"{spec.label}: listing, searching, opening")
        listing(spec, scale, rng, results)
        searching(spec, manifest, scale, results)
        opening(spec, scale, rng, results)
        _progress(f"{spec.label}: deleting")
        deleting(spec, scale, rng, results)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages in a store")
    parser.add_argument("--mailboxes", type=int, default=1_000, help="of the many-mailbox shape")
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it (or reuse)")
    parser.add_argument("--quick", action="store_true", help="2,000 messages, 20 mailboxes")
    parser.add_argument(
        "--only", metavar="LABEL[,LABEL]", help="measure these stores only (their labels)"
    )
    args = parser.parse_args()
    if args.quick:
        args.messages, args.mailboxes = 2_000, 20
    return args


def _chosen(manifest: Manifest, only: str | None) -> list[StoreSpec]:
    """The stores to measure: all, or those `--only` names."""
    if only is None:
        return list(manifest.stores)
    wanted = [label.strip() for label in only.split(",")]
    labels = [spec.label for spec in manifest.stores]
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise SystemExit(f"no store labelled {unknown[0]!r} (the stores: {', '.join(labels)})")
    return [spec for spec in manifest.stores if spec.label in wanted]


def main() -> int:
    args = arguments()
    commit = revision()  # when the code was imported, not when the run ends
    scale = Scale(10, 5, 20, 2, 1) if args.quick else Scale()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="postier-store-bench-"))
    try:
        before = Manifest.load(directory)
        manifest = store_corpus.ensure(directory, args.messages, args.mailboxes)
        kept = before == manifest
        chosen = _chosen(manifest, args.only)
        results = Results()
        measure(manifest, scale, results, chosen)
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    stores = [spec.label for spec in chosen]
    print("\n".join(describe(manifest, kept, commit)))
    print()
    print("\n".join(table(results, stores)))
    print()
    print("\n".join(results.notes))
    print()
    missed = misses(results, stores)
    print(
        f"misses: {len(missed)}" + (": " + "; ".join(missed) if missed else " (every target met)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
