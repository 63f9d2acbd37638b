"""The processes of a session, read from /proc: what a server or Postfix's master
started, so that a test or a benchmark can stop (or measure) every one of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def _processes() -> Iterator[tuple[int, list[str], Path]]:
    """Each process of /proc: its PID, the fields of its `stat` after the command's
    closing parenthesis (state is field 3, parent 4, session 6), its /proc directory."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat[stat.rindex(")") + 2 :].split(), Path(entry.path)


def session_pids(leader: int) -> list[int]:
    """Every live process whose session is `leader`'s (a server and what it started;
    Postfix's master calls setsid, so its daemons). A zombie is already dead: left out."""
    return [pid for pid, fields, _ in _processes() if fields[0] != "Z" and int(fields[3]) == leader]


def state(pid: int) -> str | None:
    """The process's state letter from /proc (`Z` for a zombie); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def children(parent: int, *, running: str = "") -> list[int]:
    """Every live (not zombie) process whose parent is `parent`, and whose command line
    holds `running` when given."""
    pids = []
    for pid, fields, path in _processes():
        if fields[0] == "Z" or int(fields[1]) != parent:
            continue
        try:
            command = (path / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if running in command:
            pids.append(pid)
    return pids
