"""Imports point one way: no module of the package imports (even for type checking only) a module
that imports it back, directly or through others."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator

ROOT = Path(simulator.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Every simulator module ``path`` imports, at run time or under TYPE_CHECKING."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("simulator"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("simulator"))
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles_between_modules():
    graph = {module_name(p): imports_of(p) for p in ROOT.rglob("*.py")}
    # A package's __init__ re-exporting its modules is not a cycle of the code itself.
    graph = {
        m: {d for d in deps if d in graph and not m.startswith(d + ".")}
        for m, deps in graph.items()
    }
    for deps in graph.values():
        deps.difference_update(d for d in list(deps) if d == "simulator")
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []
