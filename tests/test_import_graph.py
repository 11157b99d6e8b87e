"""No import cycle anywhere in metakit, and no library module picks a matplotlib backend."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import metakit

PACKAGE = Path(metakit.__file__).parent
SRC = PACKAGE.parent


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """metakit modules imported anywhere in ``path``, imports inside functions included.

    ``from package import module`` counts as an import of the module, not of the package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree)
                   if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # imports for type annotations only never run
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("metakit"):
            names = {f"{node.module}.{a.name}" for a in node.names}
            out.update(names & modules)
            if names - modules:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("metakit"))
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {d for d in _imports(p, set(files)) if d in files and d != m} for m, p in files.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for d in graph[node]:
            if d == start:
                return [*path, d]
            if d not in seen:
                seen.add(d)
                stack.append((d, [*path, d]))
    return None


def test_no_import_cycle_in_the_package():
    """Imports inside functions count: a lazy import does not hide a cycle. The package's
    own ``__init__`` (the public face, which imports everything on demand) is left out."""
    graph = _graph()
    graph = {m: d - {"metakit"} for m, d in graph.items() if m != "metakit"}
    cycles = {m: c for m in graph if (c := _cycle_through(graph, m)) is not None}
    assert cycles == {}


def test_matching_knows_nothing_of_the_store():
    assert "metakit.review.store" not in _graph()["metakit.review.dedup"]


def test_the_rob_table_knows_nothing_of_the_figures():
    assert not any(d.startswith("metakit.plots") for d in _graph()["metakit.rob.table"])


def test_no_library_module_selects_a_matplotlib_backend():
    calls = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "use" and getattr(node.func.value, "id", "") == "matplotlib"):
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []
    # And at run time: importing every library module leaves the user's backend alone.
    code = (
        "import importlib, pkgutil, matplotlib\n"
        "matplotlib.use('svg')\n"
        "import metakit\n"
        "for m in pkgutil.walk_packages(metakit.__path__, 'metakit.'):\n"
        "    if '.cli' not in m.name:\n"
        "        importlib.import_module(m.name)\n"
        "print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "svg"
