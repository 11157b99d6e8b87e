"""``metakit metareg``: meta-regression of a data file on moderators, as metafor's
``rma(yi, vi, mods = ...)``, with an optional permutation test and bubble plot."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer

from metakit.cli import _data
from metakit.errors import MetakitError, MetakitWarning


def metareg_command(
    data: Path = _data.DATA,
    mods: str = typer.Option(..., "--mods", help="Moderator formula, e.g. '~ age + C(stage)' (C() for a categorical moderator, '- 1' to drop the intercept)."),
    measure: str = _data.MEASURE,
    model: str = typer.Option("random", help="random (mixed-effects) or common."),
    tau2: str = typer.Option("REML", help="tau² estimator: REML, ML, DL, PM, SJ, HE, HS, HSk, EB, PMM."),
    hk: bool = typer.Option(False, "--hk", help="Knapp-Hartung t tests and F test of the moderators."),
    hk_adhoc: bool = typer.Option(False, "--hk-adhoc", help="Knapp-Hartung with the ad hoc variance correction (scale factor at least 1)."),
    permutations: int | None = typer.Option(None, "--permutations", min=2, help="Permutation test (Higgins & Thompson 2004) with this many permutations (all of them for k <= 8)."),
    seed: int | None = typer.Option(None, help="Random seed of the permutations."),
    study: str = _data.STUDY,
    year: str | None = _data.YEAR,
    events: str = _data.EVENTS,
    totals: str = _data.TOTALS,
    means: str = _data.MEANS,
    sds: str = _data.SDS,
    ns: str = _data.NS,
    estimate: str = _data.ESTIMATE,
    variance: str | None = _data.VARIANCE,
    se: str | None = _data.SE,
    ci: str | None = _data.CI,
    scale: str = _data.SCALE,
    level: float = _data.LEVEL,
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON instead of the summary."),
    bubble: Path | None = typer.Option(None, help="Write bubble plots, one panel per moderator (SVG, PDF or PNG by extension)."),
    labels: bool = typer.Option(False, "--labels", help="Label the studies on the bubble plot."),
    pi: bool = typer.Option(False, "--pi", help="Draw the prediction interval on the bubble plot."),
    outcome: list[str] | None = _data.OUTCOME,
    where: str | None = _data.WHERE,
    drop_incomplete: bool = _data.DROP_INCOMPLETE,
) -> None:
    """Meta-regression of DATA on the moderators in --mods; prints the coefficient table."""
    from metakit.stats.effects import effect_sizes
    from metakit.stats.measures import SCALE_NAMES
    from metakit.stats.regression import metareg

    measure = measure.upper()
    try:
        df = _data.select_rows(_data.read_table(data), outcome, where)
        kwargs = _data.effect_size_kwargs(measure, study=study, events=events, totals=totals,
                                          means=means, sds=sds, ns=ns, estimate=estimate,
                                          variance=variance, se=se, ci=ci, scale=scale, year=year,
                                          drop_incomplete=drop_incomplete)
        with warnings.catch_warnings(record=True) as caught, _data.quiet_numpy():
            warnings.simplefilter("always", MetakitWarning)
            es = effect_sizes(df, measure, **kwargs)
            ci_method = _data.ci_method(hk, hk_adhoc)
            result = metareg(es, mods, model=model, tau2_method=tau2, ci=ci_method, level=level)
            perm = (result.permutation_test(iterations=permutations, seed=seed)
                    if permutations else None)
            if bubble is not None:
                result.bubble(path=bubble, labels=labels, pi=pi)
    except (MetakitError, ValueError, KeyError, OSError) as err:
        _data.fail(err, data)
    _data.report_warnings(caught)
    if as_json:
        out = result.to_dict()
        if perm is not None:
            out["permutation"] = perm.to_dict()
        typer.echo(json.dumps(out, indent=2, default=_data.jsonable))
    else:
        scale_name = SCALE_NAMES.get(measure, measure)
        if measure == "GEN" and es.is_ratio:
            scale_name = "log ratio"
        typer.echo(f"Outcome: {scale_name} (coefficients on this scale)")
        typer.echo(result.summary())
        if perm is not None:
            typer.echo(_permutation_text(result, perm))
    if bubble is not None:
        typer.echo(f"wrote {bubble}", err=True)


def _permutation_text(result, perm) -> str:
    from metakit.formatting import fmt_p

    how = (f"exact, all {perm.iterations} permutations" if perm.exact
           else f"{perm.iterations} random permutations")
    lines = [f"Permutation test ({how}):"]
    if result.fit.btt:
        lines.append(f"  Test of moderators: p {fmt_p(perm.QM.pval)}")
    lines += [f"  {name}: p {fmt_p(p)}" for name, p in zip(result.names, perm.pval)]
    return "\n".join(lines)
