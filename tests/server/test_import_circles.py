"""No import circle in the server's plumbing, counting imports made inside functions.

The protocol core and the session's context are left out while they are being
separated (`protocol/errors` and `replies`, `server/context` and `session`); drop them
from `LEFT_OUT` once they are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import postier

SOURCE = Path(postier.__file__).parent
LEFT_OUT = ("postier.protocol", "postier.server.context", "postier.server.session")


def module_name(path: Path) -> str:
    parts = ("postier", *path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in SOURCE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    graph[name].add(target if target in paths else base)
        graph[name] &= paths.keys()
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected parts of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = set()
            while True:
                member = stack.pop()
                part.add(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(part)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def kept(name: str) -> bool:
    return not any(name == out or name.startswith(out + ".") for out in LEFT_OUT)


def test_the_checker_sees_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_circle_in_the_plumbing() -> None:
    graph = {
        name: {target for target in targets if kept(target)}
        for name, targets in imports_graph().items()
        if kept(name)
    }
    assert "postier.server.workers" in graph["postier.server.run"]
    assert circles(graph) == []
