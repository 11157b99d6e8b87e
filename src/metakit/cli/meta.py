"""``metakit meta``: meta-analyse a data file and print a RevMan-style summary or JSON."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer

from metakit.cli import _data
from metakit.errors import MetakitError, MetakitWarning


def meta_command(
    data: Path = _data.DATA,
    measure: str = _data.MEASURE,
    model: str = typer.Option("random", help="random or common."),
    tau2: str | None = typer.Option(None, help="tau² estimator: DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM [default: REML; DL with --convention revman]."),
    method: str | None = typer.Option(None, help="inverse, MH or Peto [default: inverse; MH for OR/RR/RD with --convention revman]."),
    hk: bool = typer.Option(False, "--hk", help="Hartung-Knapp confidence interval and t test."),
    hk_adhoc: bool = typer.Option(False, "--hk-adhoc", help="Hartung-Knapp with the ad hoc variance correction (scale factor at least 1)."),
    pi: str | None = typer.Option(None, help="Prediction interval: z (metafor) or t (t(k-2), Higgins 2009)."),
    convention: str = typer.Option("metafor", help="metafor or revman (RevMan 5's Mantel-Haenszel/DL conventions)."),
    by: str | None = typer.Option(None, help="Column naming subgroups: subgroup analysis with a test for differences."),
    common_tau2: bool = typer.Option(False, "--common-tau2", help="With --by: one tau² shared by all subgroups."),
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
    forest: Path | None = typer.Option(None, help="Write a forest plot (SVG, PDF or PNG by extension)."),
    funnel: Path | None = typer.Option(None, help="Write a funnel plot (SVG, PDF or PNG by extension)."),
    outcome: list[str] | None = _data.OUTCOME,
    where: str | None = _data.WHERE,
    drop_incomplete: bool = _data.DROP_INCOMPLETE,
    favours: str | None = typer.Option(None, "--favours", help="Forest plot labels under the left and right of the axis, 'LEFT,RIGHT' (default: Favours [experimental],Favours [control])."),
    higher_is_better: bool = typer.Option(False, "--higher-is-better", help="Higher values favour a group (e.g. response rates, scores of function): the experimental group's label goes to the right of the null line."),
    subgroup_order: str | None = typer.Option(None, "--subgroup-order", help="With --by: subgroups in this order, comma-separated (default: order of first appearance)."),
    sensitivity: bool = typer.Option(False, "--sensitivity", help="Also print leave-one-out and influence tables and the funnel asymmetry tests (Egger, Begg, trim-and-fill)."),
    baujat: Path | None = typer.Option(None, help="Write a Baujat plot (SVG, PDF or PNG by extension)."),
    gosh: Path | None = typer.Option(None, help="Write a GOSH plot (every subset up to 20 studies; SVG, PDF or PNG)."),
) -> None:
    """Meta-analyse DATA and print a RevMan-style summary (or JSON with --json)."""
    from metakit.stats.effects import effect_sizes
    from metakit.stats.meta_analysis import meta

    measure = measure.upper()
    try:
        df = _data.select_rows(_data.read_table(data), outcome, where)
        kwargs = _data.effect_size_kwargs(measure, study=study, events=events, totals=totals,
                                          means=means, sds=sds, ns=ns, estimate=estimate,
                                          variance=variance, se=se, ci=ci, scale=scale, year=year,
                                          drop_incomplete=drop_incomplete)
        kwargs["keep"] = tuple(c for c in (by,) if c)
        labels = _data.favours_labels(favours)
        with warnings.catch_warnings(record=True) as caught, _data.quiet_numpy():
            warnings.simplefilter("always", MetakitWarning)
            es = effect_sizes(df, measure, **kwargs)
            ci_method = _data.ci_method(hk, hk_adhoc)
            result = meta(es, model=model, method=method, tau2_method=tau2, ci=ci_method, pi=pi, by=by,
                          common_tau2=common_tau2, level=level, convention=convention,
                          subgroup_order=subgroup_order.split(",") if subgroup_order else None)
        if forest is not None or funnel is not None:
            from metakit.plots import write_figures
            write_figures(result, forest_path=forest, funnel_path=funnel,
                          favours=labels, higher_is_better=higher_is_better)
        extra, extra_data = "", None
        if sensitivity or baujat is not None or gosh is not None:
            from metakit.cli import _sensitivity
            _sensitivity.check(result)
            with warnings.catch_warnings(record=True) as more:
                warnings.simplefilter("always", MetakitWarning)
                if sensitivity:
                    extra, extra_data = _sensitivity.report(result)
                _sensitivity.figures(result, baujat, gosh)
            caught += more
    except (MetakitError, ValueError, KeyError, OSError) as err:
        _data.fail(err, data)
    _data.report_warnings(caught)
    if as_json:
        out = result.to_dict()
        if extra_data is not None:
            out["sensitivity"] = extra_data
        typer.echo(json.dumps(out, indent=2, default=_data.jsonable))
    else:
        typer.echo(result.summary())
        if extra:
            typer.echo("\n" + extra)
    for path in (forest, funnel, baujat, gosh):
        if path is not None:
            typer.echo(f"wrote {path}", err=True)

