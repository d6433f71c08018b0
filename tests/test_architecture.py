"""The shape of the code, checked from its imports (README "Architecture"):

- no import cycle anywhere in the product packages, type-only imports included;
- the layers: a provider connector never imports the sandbox, the flows or the reports; the
  reports never import a provider connector; nothing in the product imports the tests;
- a provider package holds everything of its provider (no `connectors/_<provider>_*.py`).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PRODUCT = ("connectors", "flows", "playbooks", "reports")
PROVIDERS = ("github", "aws", "npm", "oci", "pypi")


def modules() -> dict[str, Path]:
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The product modules `name` imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = {f"{base}.{alias.name}" for alias in node.names}
            # `from . import module` imports the module, not (again) the package it is in
            targets |= names if node.module is None else names | {base}
    resolved = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_in_the_product() -> None:
    # A package's __init__ that hands on its modules' names, imported back by one of them
    # through the package name, is a cycle too: import the module, not the package.
    assert cycles(graph()) == []


def test_connectors_stand_below_the_flows_reports_and_sandbox() -> None:
    edges = graph()
    wrong = []
    for name, targets in edges.items():
        if not name.startswith("connectors") or name.startswith("connectors.sandbox"):
            continue
        for target in targets:
            if target.startswith(("flows", "reports", "connectors.sandbox", "tests")):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_reports_know_no_provider() -> None:
    edges = graph()
    wrong = [f"{name} -> {target}" for name, targets in edges.items()
             if name.startswith("reports") for target in targets
             if target.split(".")[:2] in ([["connectors", p] for p in PROVIDERS])]
    assert wrong == []


def test_each_provider_lives_in_one_place() -> None:
    scattered = sorted(p.name for p in (ROOT / "connectors").glob("_*.py")
                       if any(p.name.startswith(f"_{provider}_") for provider in PROVIDERS))
    assert scattered == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
