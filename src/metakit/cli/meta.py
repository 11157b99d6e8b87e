"""``metakit meta``: meta-analyse a data file and print a RevMan-style summary or JSON."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import typer

from metakit.errors import MetakitError, MetakitWarning
from metakit.stats.measures import BINARY_MEASURES, CONTINUOUS_MEASURES


def _pair(text: str, option: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise typer.BadParameter(f"{option} takes two column names separated by a comma, "
                                 f"e.g. e_t,e_c; got {text!r}")
    return parts[0], parts[1]


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, TSV or XLSX data file."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path)
    if suffix in (".tsv", ".tab"):
        return pd.read_csv(path, sep="\t")
    return pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")


def meta_command(
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV or XLSX file, one row per study."),
    measure: str = typer.Option("OR", "--measure", "-m", help="OR, RR, RD, PETO, AS (events/totals); MD, SMD, ROM (means/SDs/Ns); GEN (estimate with variance, SE or CI)."),
    model: str = typer.Option("random", help="random or common."),
    tau2: str | None = typer.Option(None, help="tau² estimator: DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM [default: REML; DL with --convention revman]."),
    method: str | None = typer.Option(None, help="inverse, MH or Peto [default: inverse; MH for OR/RR/RD with --convention revman]."),
    hk: bool = typer.Option(False, "--hk", help="Hartung-Knapp confidence interval and t test."),
    hk_adhoc: bool = typer.Option(False, "--hk-adhoc", help="Hartung-Knapp with the ad hoc variance correction (scale factor at least 1)."),
    pi: str | None = typer.Option(None, help="Prediction interval: z (metafor) or t (t(k-2), Higgins 2009)."),
    convention: str = typer.Option("metafor", help="metafor or revman (RevMan 5's Mantel-Haenszel/DL conventions)."),
    by: str | None = typer.Option(None, help="Column naming subgroups: subgroup analysis with a test for differences."),
    common_tau2: bool = typer.Option(False, "--common-tau2", help="With --by: one tau² shared by all subgroups."),
    study: str = typer.Option("study", help="Column with study labels."),
    year: str | None = typer.Option("year", help="Column with the year, appended to labels when present ('' to skip)."),
    events: str = typer.Option("e_t,e_c", help="Event columns, experimental then control."),
    totals: str = typer.Option("n_t,n_c", help="Total (N) columns for binary data."),
    means: str = typer.Option("m_t,m_c", help="Mean columns for continuous data."),
    sds: str = typer.Option("sd_t,sd_c", help="SD columns for continuous data."),
    ns: str = typer.Option("n_t,n_c", help="N columns for continuous data."),
    estimate: str = typer.Option("yi", help="Estimate column for --measure GEN."),
    variance: str | None = typer.Option(None, help="Variance column for GEN."),
    se: str | None = typer.Option(None, help="Standard error column for GEN."),
    ci: str | None = typer.Option(None, help="Lower,upper CI columns for GEN."),
    scale: str = typer.Option("identity", help="GEN estimates: identity, log (already log ratios) or ratio (ratios with CIs, analysed on the log scale)."),
    level: float = typer.Option(0.95, help="Confidence level."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON instead of the summary."),
    forest: Path | None = typer.Option(None, help="Write a forest plot (SVG, PDF or PNG by extension)."),
    funnel: Path | None = typer.Option(None, help="Write a funnel plot (SVG, PDF or PNG by extension)."),
) -> None:
    """Meta-analyse DATA and print a RevMan-style summary (or JSON with --json)."""
    from metakit.stats.effects import effect_sizes
    from metakit.stats.meta_analysis import meta

    measure = measure.upper()
    try:
        df = read_table(data)
        labels = _labels(df, study, year)
        df = df.assign(**{study: labels})
        kwargs = {"study": study, "keep": tuple(c for c in (by,) if c)}
        if measure in BINARY_MEASURES:
            kwargs.update(events=_pair(events, "--events"), totals=_pair(totals, "--totals"))
        elif measure in CONTINUOUS_MEASURES:
            kwargs.update(means=_pair(means, "--means"), sds=_pair(sds, "--sds"),
                          ns=_pair(ns, "--ns"))
        else:
            kwargs.update(estimate=estimate, variance=variance, se=se, scale=scale,
                          ci=_pair(ci, "--ci") if ci else None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetakitWarning)
            es = effect_sizes(df, measure, **kwargs)
            ci_method = "hk-adhoc" if hk_adhoc else ("hk" if hk else "z")
            result = meta(es, model=model, method=method, tau2_method=tau2, ci=ci_method, pi=pi, by=by,
                          common_tau2=common_tau2, level=level, convention=convention)
        if forest is not None or funnel is not None:
            from metakit.plots import write_figures
            write_figures(result, forest_path=forest, funnel_path=funnel)
    except (MetakitError, ValueError, KeyError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=_jsonable))
    else:
        typer.echo(result.summary())
    for path in (forest, funnel):
        if path is not None:
            typer.echo(f"wrote {path}", err=True)


def _labels(df: pd.DataFrame, study: str, year: str | None) -> pd.Series:
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


def _jsonable(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)
