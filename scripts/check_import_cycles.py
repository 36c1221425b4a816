"""Fail when the modules under ``src/`` import each other in a circle, or a floor imports one above it.

Reads every ``.py`` file under ``src/`` with :mod:`ast` (nothing is imported or executed) and builds the graph of
imports between the project's own modules. Every import counts: at module level, inside functions and under
``if TYPE_CHECKING:``, because each of them ties the two modules together. The strongly connected components of
that graph (Tarjan's algorithm) with more than one module are circles. A few floors are also kept apart by name
(``FORBIDDEN``), where a circle is not needed to see the mistake. The script lists what it found and exits with
status 1. ``make lint`` runs it; by hand: ``python scripts/check_import_cycles.py``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent / "src"

#: (importer, imported, why): modules under the first prefix must not import modules under the second.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("mcphost.mcp", "mcphost.gateway", "the MCP protocol layer (and the upstream mux) lies below the gateway"),
    ("mcphost.mcp", "mcphost.servers", "the MCP protocol layer lies below the node's hosting"),
    ("mcphost.servers", "mcphost.gateway", "the node agent relays through mcp.mux; the gateway builds on servers"),
    ("mcphost.runtimes", "mcphost.servers", "a runtime prepares, starts, stops and reports; the lifecycle is above"),
    ("mcphost.runtimes", "mcphost.gateway", "a runtime knows nothing of the gateway"),
)


def module_name(path: Path, root: Path) -> str:
    """The dotted module name of a source file (``pkg/__init__.py`` is ``pkg``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(tree: ast.Module, module: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """Every dotted name an import statement in ``tree`` refers to, relative imports resolved.

    ``from a.b import c`` names the module ``a.b.c`` when there is one (importing a submodule is not a dependency
    on its package's ``__init__``), and otherwise ``a.b``, where ``c`` is defined.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def resolve(name: str, modules: set[str]) -> str | None:
    """The longest known module that ``name`` is or lies inside (``a.b.C`` resolves to ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module name -> the project modules it imports."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = {resolve(name, modules) for name in imported_names(tree, module, path.name == "__init__.py", modules)}
        graph[module] = {target for target in targets if target is not None and target != module}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit): every strongly connected component of ``graph``."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    """One line per import that ``FORBIDDEN`` rules out."""
    return [
        f"{module} -> {target}: {why}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        for importer, imported, why in FORBIDDEN
        if under(module, importer) and under(target, imported)
    ]


def main() -> int:
    graph = import_graph(SOURCE_ROOT)
    cycles = sorted(component for component in strongly_connected(graph) if len(component) > 1)
    upward = forbidden_imports(graph)
    if not cycles and not upward:
        print(f"no import cycles among {len(graph)} modules under src/, and no forbidden imports")
        return 0
    if cycles:
        print(f"{len(cycles)} import cycle(s) under src/:", file=sys.stderr)
    for component in cycles:
        members = set(component)
        print(f"- {len(component)} modules:", file=sys.stderr)
        for module in component:
            inside = sorted(graph[module] & members)
            print(f"    {module} -> {', '.join(inside)}", file=sys.stderr)
    if upward:
        print(f"{len(upward)} forbidden import(s):", file=sys.stderr)
        for line in upward:
            print(f"- {line}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
