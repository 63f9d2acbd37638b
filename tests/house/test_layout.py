"""The shape of the source tree: no import circles, no overlong modules, one owner of the state."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "postier"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: dict[str, Path]) -> Iterator[str]:
    """The project's modules that `path` imports, at the top or inside functions alike."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` names the module; anything else, the package.
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in known else base for t in targets]
        else:
            continue
        for written in targets:
            target = written
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target
                yield from packages_run_first(target, name, known)


def packages_run_first(target: str, name: str, known: dict[str, Path]) -> Iterator[str]:
    """The packages whose `__init__` Python runs before `target`, when `name` imports it.

    Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first, unless they are already
    running: those that hold `name` itself are.
    """
    own = name.split(".")
    parts = target.split(".")
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        if package in known and own[:depth] != parts[:depth]:
            yield package


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imported(path, name, known)) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_an_import_runs_the_packages_above_the_module_first() -> None:
    known = {name: Path() for name in ("p", "p.q", "p.q.r", "p.s")}
    assert list(packages_run_first("p.q.r", "p.s", known)) == ["p.q"]
    assert list(packages_run_first("p.q.r", "p.q", known)) == []
    assert list(packages_run_first("p.s", "p.q.r", known)) == []


def test_no_import_circle_between_the_modules_of_src() -> None:
    assert circles(import_graph()) == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_longer_than_the_limit(name: str) -> None:
    lines = modules()[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by job"


def test_only_the_transition_functions_assign_a_state() -> None:
    # A connection's state moves only through its transition table: the one function
    # that looks a move up assigns it, and the constructor gives the first state.
    assignment = re.compile(r"^\s*self\._?state\s*=|, self\._?state\s*=", re.MULTILINE)
    assigning: list[str] = []
    for name, path in modules().items():
        if not name.startswith("postier.protocol"):
            continue
        source = path.read_text()
        for function in ast.walk(ast.parse(source)):
            if isinstance(function, ast.FunctionDef):
                body = ast.get_source_segment(source, function) or ""
                if assignment.search(body) and function.name != "__init__":
                    assigning.append(f"{name}.{function.name}")
    assert sorted(assigning) == [
        "postier.protocol.pop3.server._move",
        "postier.protocol.smtp.client_state.move",
        "postier.protocol.smtp.conversation._move",
    ]
