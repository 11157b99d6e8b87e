"""The table of included studies' characteristics (and the totals the outcomes are checked against)."""

from __future__ import annotations

from metakit.report.blocks import Section, save_table
from metakit.report.context import Context, read_sheet


def build(ctx: Context) -> Section:
    """The characteristics table; fills ``ctx.study_totals`` from the ``totals`` columns."""
    import pandas as pd

    spec = ctx.spec.characteristics
    frame = read_sheet(spec["file"])
    labels = ctx.labels(frame)
    totals = spec.get("totals") or []
    missing = [c for c in [*(spec.get("columns") or []), *totals] if c not in frame.columns]
    if missing:
        from metakit.errors import DataError

        raise DataError(f"column(s) {missing} not in {spec['file'].name}")
    if totals:
        sums = frame[totals].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=len(totals))
        ctx.study_totals.update(dict(zip(labels, sums.astype(float))))
    shown = frame[spec["columns"]] if spec.get("columns") else frame
    section = Section("characteristics", "Characteristics of included studies")
    section.blocks.append(save_table(shown.fillna(""), ctx.tables, "study_characteristics",
                                     f"Characteristics of the {len(frame)} studies"))
    return section


def steps(ctx: Context) -> list:
    """One step, or none when the review file names no characteristics sheet."""
    if ctx.spec.characteristics is None:
        return []
    return [("Study characteristics", lambda: build(ctx))]
