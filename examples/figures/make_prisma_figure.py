"""Render PRISMA 2020 flow diagrams from hand-entered counts (YAML).

Run: ``python examples/figures/make_prisma_figure.py [outdir]``. Writes, for each YAML
file beside this script, ``<name>.png``, ``.svg`` and ``.pdf``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from metakit.plots.prisma import prisma_flow
from metakit.review.prisma_counts import PrismaCounts

HERE = Path(__file__).resolve().parent


def main(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(HERE.glob("prisma_*.yaml")):
        counts = PrismaCounts.from_yaml(source)
        for suffix in (".png", ".svg", ".pdf"):
            path = outdir / (source.stem + suffix)
            prisma_flow(counts, path)
            written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "out"):
        print(p)
