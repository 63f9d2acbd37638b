"""Run one harness under atheris (libFuzzer) for a bounded time.

    python3 fuzz/run.py --role server --seconds 300

New interesting inputs go to `fuzz/work/<role>/` (git-ignored); the committed seeds in
`fuzz/corpus/<role>/` are read, never written. A crashing input is saved as
`fuzz/crashes/<role>-crash-<sha1>` and the run stops with its traceback.
libFuzzer's last line, `Done N runs in S second(s)`, gives the executions.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

with atheris.instrument_imports(include=["postier", "fuzz"]):
    from fuzz.harnesses import HARNESSES

# Past the longest lines either side buffers (2048 for a command, 4096 for a reply).
MAX_LEN = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=sorted(HARNESSES), required=True)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--replay", nargs="+", type=Path, metavar="FILE", help="run these inputs once, no fuzzing"
    )
    parser.add_argument("libfuzzer", nargs="*", help="extra libFuzzer flags, e.g. -jobs=2")
    args = parser.parse_args()

    harness = HARNESSES[args.role]
    if args.replay:
        sys.exit(_replay(harness, args.replay))
    work = HERE / "work" / args.role
    crashes = HERE / "crashes"
    work.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(exist_ok=True)
    flags = [
        sys.argv[0],
        f"-max_total_time={args.seconds}",
        f"-max_len={MAX_LEN}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={crashes}/{args.role}-",
        *args.libfuzzer,
        str(work),
        str(HERE / "corpus" / args.role),
    ]
    atheris.Setup(flags, harness)
    atheris.Fuzz()


def _replay(harness: Callable[[bytes], None], files: list[Path]) -> int:
    failed = 0
    for path in files:
        try:
            harness(path.read_bytes())
        except Exception:
            failed += 1
            print(f"{path}: FAILED", flush=True)
            traceback.print_exc()
        else:
            print(f"{path}: ok", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    main()
