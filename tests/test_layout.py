"""The layout rules of docs/architecture.md that code can check: no import cycle inside
`cases`, and `cases/crypto` a leaf that knows no model. (ruff's TID251 rule in cases/ruff.toml
and audit/ruff.toml keeps the dependency direction between apps.)"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when the module loads (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if _is_module(sub) else base)
    return found


def _graph(package: str) -> dict[str, set[str]]:
    files = [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    names = {_module_name(p): p for p in files}
    return {name: {m for m in _top_level_imports(path) if m in names and m != name}
            for name, path in names.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ that gathers its own submodules (cases.models, cases.workflow) is
    # not a cycle: the submodules never import each other through it at load time in a loop.
    return {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}


def test_no_import_cycle_inside_cases():
    cycle = _cycle(_without_package_inits(_graph("cases")))

    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_crypto_is_a_leaf():
    graph = _graph("cases")
    outside = {name: {m for m in deps if not m.startswith("cases.crypto")}
               for name, deps in graph.items() if name.startswith("cases.crypto")}

    assert {name: deps for name, deps in outside.items() if deps} == {}
    for path in (ROOT / "cases" / "crypto").rglob("*.py"):
        assert "cases.models" not in path.read_text(), path
