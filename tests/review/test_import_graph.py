"""The records modules sit in no import cycle (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import metakit.review

PACKAGE = Path(metakit.review.__file__).parent


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "metakit.review":
                out.update(f"metakit.review.{a.name}" for a in node.names)
            elif node.module.startswith("metakit.review."):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("metakit.review."))
    return out


RECORDS_MODULES = ("dedup", "normalise", "records", "store")


def test_no_import_cycle_through_the_records_modules():
    graph = {f"metakit.review.{p.stem}": _imports(p) for p in PACKAGE.glob("*.py")
             if p.stem != "__init__"}
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for d in graph[start]:
            if d == target or (d not in seen and reaches(d, target, seen | {d})):
                return True
        return False

    cycles = sorted(m for m in (f"metakit.review.{n}" for n in RECORDS_MODULES)
                    if reaches(m, m, {m}))
    assert cycles == []


def test_matching_knows_nothing_of_the_store():
    assert "metakit.review.store" not in _imports(PACKAGE / "dedup.py")
