"""The store benchmark runs end to end at its quick scale and prints its table (its figures
are not judged here: speed goals are met in the benchmark, never in a timed test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "store_bench.py"


@pytest.mark.slow
def test_the_quick_store_benchmark_prints_its_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--keep", str(tmp_path / "corpus")],
        capture_output=True,
        text=True,
        timeout=110,  # under pytest-timeout's 120 s, so that this one names the cause
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("measure") and "target" in line for line in lines)
    for title in ("reindex from scratch", "newest 50, one mailbox", "search from:alice"):
        assert any(line.startswith(title) for line in lines), title
    assert lines[-1].startswith("misses: ")
