"""What the commands that read a study table share: the file reader, study labels and
the effect-size column options (``metakit meta``, ``metakit metareg``).

Imports pandas only inside the functions, so that ``metakit --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from metakit.stats.measures import BINARY_MEASURES, CONTINUOUS_MEASURES

if TYPE_CHECKING:
    import pandas as pd

# One definition of each option, used by every command that reads a study table.
DATA = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV or XLSX file, one row per study.")
MEASURE = typer.Option("OR", "--measure", "-m", help="OR, RR, RD, PETO, AS (events/totals); MD, SMD, ROM (means/SDs/Ns); GEN (estimate with variance, SE or CI).")
STUDY = typer.Option("study", help="Column with study labels.")
YEAR = typer.Option("year", help="Column with the year, appended to labels when present ('' to skip).")
EVENTS = typer.Option("e_t,e_c", help="Event columns, experimental then control.")
TOTALS = typer.Option("n_t,n_c", help="Total (N) columns for binary data.")
MEANS = typer.Option("m_t,m_c", help="Mean columns for continuous data.")
SDS = typer.Option("sd_t,sd_c", help="SD columns for continuous data.")
NS = typer.Option("n_t,n_c", help="N columns for continuous data.")
ESTIMATE = typer.Option("yi", help="Estimate column for --measure GEN.")
VARIANCE = typer.Option(None, help="Variance column for GEN.")
SE = typer.Option(None, help="Standard error column for GEN.")
CI = typer.Option(None, help="Lower,upper CI columns for GEN.")
SCALE = typer.Option("identity", help="GEN estimates: identity, log (already log ratios) or ratio (ratios with CIs, analysed on the log scale).")
LEVEL = typer.Option(0.95, help="Confidence level.")


def pair(text: str, option: str) -> tuple[str, str]:
    """Two comma-separated column names (``"e_t,e_c"``)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise typer.BadParameter(f"{option} takes two column names separated by a comma, "
                                 f"e.g. e_t,e_c; got {text!r}")
    return parts[0], parts[1]


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, TSV or XLSX data file."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path)
    if suffix in (".tsv", ".tab"):
        return pd.read_csv(path, sep="\t")
    return pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")


def study_labels(df: pd.DataFrame, study: str, year: str | None) -> pd.Series:
    """Study labels, with the year appended where the label has no four-digit year."""
    import pandas as pd

    if study not in df.columns:
        raise KeyError(f"no study column {study!r}; columns are {', '.join(map(str, df.columns))}")
    labels = df[study].astype("string")
    if year and year in df.columns:
        col = df[year]
        if pd.api.types.is_float_dtype(col):
            col = col.round().astype("Int64")
        yr = col.astype("string")
        has = yr.notna() & ~labels.str.contains(r"\b\d{4}\b", regex=True, na=False)
        labels = labels.where(~has, labels + " " + yr)
    return labels


def effect_size_kwargs(measure: str, *, study: str, events: str, totals: str, means: str,
                       sds: str, ns: str, estimate: str, variance: str | None, se: str | None,
                       ci: str | None, scale: str) -> dict:
    """Keyword arguments of :func:`metakit.stats.effects.effect_sizes` for ``measure``."""
    kwargs: dict = {"study": study}
    if measure in BINARY_MEASURES:
        kwargs.update(events=pair(events, "--events"), totals=pair(totals, "--totals"))
    elif measure in CONTINUOUS_MEASURES:
        kwargs.update(means=pair(means, "--means"), sds=pair(sds, "--sds"), ns=pair(ns, "--ns"))
    else:
        kwargs.update(estimate=estimate, variance=variance, se=se, scale=scale,
                      ci=pair(ci, "--ci") if ci else None)
    return kwargs


def jsonable(x):
    """``default`` of :func:`json.dumps`: arrays as lists, anything else as text."""
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)
