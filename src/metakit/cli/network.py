"""``metakit network``: network meta-analysis of arm-level or contrast-level data, as R's
netmeta: the fit against a reference, the league table, rankings, inconsistency checks and
the figures."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer

from metakit.errors import MetakitError, MetakitWarning


def network_command(
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (or XLSX) file: arm-level rows (study, treatment, events, n / mean, sd, n) or contrast-level rows (studlab, treat1, treat2, TE, seTE)."),
    measure: str = typer.Option(..., "--measure", help="OR, RR, RD, AS (events/n), MD, SMD, ROM (mean/sd/n); for contrast rows, the measure of TE (GEN if unknown)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference treatment (default: first in sorted order)."),
    tau2: str = typer.Option("DL", "--tau2", help="tau² estimator: DL (generalised DerSimonian-Laird, netmeta's default), REML or ML."),
    covariance: str = typer.Option("full", "--reml-covariance", help="Multi-arm covariance in the REML/ML likelihood: full (as rma.mv, and netmeta with arm data) or netmeta (netmeta's choice for contrast-level data)."),
    model: str = typer.Option("random", "--model", help="Model of the league table, rankings and forest plot: random or common."),
    small_values: str = typer.Option("good", "--small-values", help="good: smaller effects are better (e.g. OR of hip failure); bad: larger are better."),
    study: str = typer.Option("study", help="Study column of arm-level data (studlab for contrasts)."),
    treatment: str = typer.Option("treatment", help="Treatment column of arm-level data."),
    events: str = typer.Option("events", help="Events column."),
    n: str = typer.Option("n", help="Arm size column."),
    mean: str = typer.Option("mean", help="Mean column."),
    sd: str = typer.Option("sd", help="SD column."),
    level: float = typer.Option(0.95, help="Confidence level."),
    nsim: int = typer.Option(10000, help="Draws for SUCRA."),
    seed: int = typer.Option(1234, help="Seed of the SUCRA draws."),
    figures: Path | None = typer.Option(None, "--figures", help="Folder for the figures (network graph, forest, league, rankogram, SUCRA curves, adjusted funnel) as PNG."),
    league_out: Path | None = typer.Option(None, "--league", help="Write the league table (.csv or .xlsx)."),
    order: str | None = typer.Option(None, "--order", help="Comma-separated treatment order: clockwise on the network graph, and older-to-newer for the comparison-adjusted funnel (default: sorted)."),
    as_json: bool = typer.Option(False, "--json", help="Print everything (fit, league, ranking, decomposition, netsplit) as JSON."),
) -> None:
    """Network meta-analysis of DATA; prints the fit, league table and ranks."""
    import pandas as pd

    from metakit.network import nma
    from metakit.network.funnel import adjusted_funnel

    if model not in ("random", "common"):
        typer.echo("error: --model must be random or common", err=True)
        raise typer.Exit(code=1)
    try:
        frame = pd.read_excel(data) if data.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(data)
        arm_level = treatment in frame.columns
        columns = ({"study": study, "treatment": treatment, "events": events, "n": n, "mean": mean, "sd": sd}
                   if arm_level else {})
        if arm_level:
            measure_cols = ({"events", "n"} if measure.upper() in ("OR", "RR", "RD", "AS") else {"mean", "sd", "n"})
            columns = {k: v for k, v in columns.items() if k in measure_cols | {"study", "treatment"}}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetakitWarning)
            res = nma(frame, measure=measure.upper(), reference=reference, tau2_method=tau2.upper(),
                      small_values=small_values, level=level, arm_level=arm_level, columns=columns,
                      covariance=covariance)
            ranking = res.ranking(model, nsim=nsim, seed=seed)
            league = res.league(model)
            decomp = res.decomp_design()
            split = res.netsplit(model)
            funnel_order = [t.strip() for t in order.split(",")] if order else None
            funnel = adjusted_funnel(res, funnel_order) if res.data.m >= 3 else None
            written = _figures(res, ranking, league, funnel, model, figures, funnel_order) if figures else []
            if league_out is not None:
                written.append(league.to_excel(league_out) if league_out.suffix.lower() == ".xlsx"
                               else league.to_csv(league_out))
    except (MetakitError, ValueError, KeyError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    if as_json:
        out = {"fit": res.to_dict(), "league": league.to_dict(), "ranking": ranking.to_dict(),
               "decomposition": decomp.to_dict(), "netsplit": split.to_dict(),
               "funnel": funnel.to_dict() if funnel is not None else None}
        typer.echo(json.dumps(out, indent=2, default=_plain))
    else:
        typer.echo(res.summary())
        typer.echo("")
        typer.echo(league.summary())
        typer.echo("")
        typer.echo(ranking.summary())
        typer.echo("")
        typer.echo(decomp.summary())
        typer.echo("")
        typer.echo(split.summary())
        if funnel is not None:
            typer.echo("")
            typer.echo(funnel.summary())
    for path in written:
        typer.echo(f"wrote {path}", err=True)


def _plain(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


def _figures(res, ranking, league, funnel, model: str, folder: Path, order=None) -> list[Path]:
    from metakit.plots import network as pn
    from metakit.plots.forest import forest

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in ("network.png", "forest.png", "league.png", "rankogram.png", "sucra.png")]
    pn.network_graph(res, paths[0], order=order)
    forest(pn.forest_versus_reference(res, model), paths[1], dpi=200)
    pn.league_figure(league, paths[2])
    pn.rankogram(ranking, paths[3])
    pn.sucra_curves(ranking, paths[4])
    if funnel is not None:
        paths.append(folder / "funnel.png")
        pn.adjusted_funnel_plot(funnel, paths[-1])
    return paths
