"""The allocator policy: set on glibc, and then a freed large buffer leaves the process."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from postier.server.allocator import return_large_buffers

SRC = Path(__file__).resolve().parents[2] / "src"
CHILD = """
import threading
from postier.server.allocator import return_large_buffers
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
print(return_large_buffers())
# As the indexer does: large buffers in a thread of its own, freed, then more of them.
def work():
    for size in (8 << 20, 2 << 20, 2 << 20, 1 << 20):
        data = bytearray(size)
        data[::4096] = b"x" * len(data[::4096])
        del data
before = rss()
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(rss() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_freed_large_buffers_leave_the_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(SRC)}, check=True,
    )  # fmt: skip
    done, growth_kib = result.stdout.split()
    assert done == "True"
    assert int(growth_kib) < 1024


def test_elsewhere_it_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert return_large_buffers() is False
