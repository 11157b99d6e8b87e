"""``metakit revman``: re-run every analysis of a RevMan 5 review and compare with RevMan's results."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import typer

# Statistics checked by --check: RevMan computes P values with its own approximations of
# the normal and chi² tails (errors up to ~1e-5 relative), so they are shown, not checked.
_CHECKED = ("estimate", "ci_lb", "ci_ub", "z", "Q", "I2", "tau2", "df", "effect", "se", "weight")


def revman_command(
    review: Path = typer.Argument(..., exists=True, dir_okay=False, help="RevMan 5 review (.rm5) or its CSV data export."),
    outcome: list[str] = typer.Option(None, "--outcome", "-o", help="Analysis number (e.g. 1.2) or id (CMP-001.02); repeat for several (default: all)."),
    forest: Path | None = typer.Option(None, "--forest", help="Directory to write each analysis's forest plot (RevMan layout, PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print the review, our results and the comparison as JSON."),
    studies: bool = typer.Option(False, "--studies", help="Also list each study's effect, CI and weight beside RevMan's."),
    check: bool = typer.Option(False, "--check", help="Exit with status 2 if any estimate, CI, Z, Q, I², tau² or weight differs from RevMan's by more than --rtol."),
    rtol: float = typer.Option(1e-6, "--rtol", help="Relative tolerance for --check (RevMan's CSV export rounds to 8 decimals)."),
) -> None:
    """Re-run each analysis of REVIEW as RevMan did and print ours beside RevMan's stored result."""
    from metakit.errors import MetakitError, MetakitWarning
    from metakit.io import read_revman

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetakitWarning)
            rv = read_revman(review)
            chosen = [rv.outcome(k) for k in outcome] if outcome else list(rv.outcomes)
            runs = []
            for o in chosen:
                if not o.data["estimable"].any():
                    runs.append((o, None, None))
                    continue
                result = o.meta()
                runs.append((o, result, o.compare(result)))
            if forest is not None:
                forest.mkdir(parents=True, exist_ok=True)
                for o, result, _ in runs:
                    if result is not None:
                        path = forest / f"analysis_{o.comparison_no}_{o.outcome_no}.png"
                        result.forest(path, label_e=o.labels["group_1"], label_c=o.labels["group_2"],
                                      favours=(o.labels["graph_1"], o.labels["graph_2"]),
                                      title=f"Analysis {o.number} {o.name}")
    except (MetakitError, ValueError, KeyError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    worst = 0.0
    for _, _, cmp in runs:
        if cmp is not None:
            sel = cmp[cmp["statistic"].isin(_CHECKED)].dropna(subset=["metakit", "revman"])
            scale = sel["revman"].abs().where(sel["revman"].abs() > 1, 1.0)
            if len(sel):
                worst = max(worst, float((sel["difference"].abs() / scale).max()))
    if as_json:
        out = {"review": rv.title, "source": str(review), "max_relative_difference": worst,
               "analyses": [{"analysis": o.to_dict(), "metakit": None if r is None else r.to_dict(),
                             "comparison": None if c is None else
                             c.astype(object).where(c.notna(), None).to_dict(orient="records")}
                            for o, r, c in runs],
               "rob": None if rv.rob is None else rv.rob.to_dict()}
        typer.echo(json.dumps(out, indent=2, default=_jsonable))
    else:
        typer.echo(rv.summary().splitlines()[0])
        for o, _, cmp in runs:
            typer.echo("")
            typer.echo(o.summary())
            if cmp is None:
                typer.echo("  no estimable study: nothing to pool")
                continue
            typer.echo(_table(cmp, studies))
        typer.echo("")
        typer.echo(f"largest relative difference from RevMan (estimates, CIs, Z, Q, I², tau², weights): {worst:.2g}")
    if forest is not None:
        typer.echo(f"wrote forest plots to {forest}", err=True)
    if check and worst > rtol:
        raise typer.Exit(code=2)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.6g}"


def _table(cmp, studies: bool) -> str:
    pooled = cmp[cmp["kind"] != "study"]
    study_rows = cmp[cmp["kind"] == "study"]
    shown = cmp if studies else pooled
    width = min(60, max(len(str(x)) for x in shown["level"]))
    lines = [f"  {'':<{width}}  {'statistic':<9} {'metakit':>12} {'RevMan':>12} {'difference':>11}"]
    for _, r in shown.iterrows():
        lines.append(f"  {str(r['level'])[:width]:<{width}}  {r['statistic']:<9} {_fmt(r['metakit']):>12} "
                     f"{_fmt(r['revman']):>12} {_fmt(r['difference']):>11}")
    if not studies and len(study_rows):
        diff = study_rows.dropna(subset=["revman"])
        if len(diff):
            lines.append(f"  studies: largest |difference| in effect, CI and weight: "
                         f"{_fmt(float(diff['difference'].abs().max()))} (--studies to list)")
    return "\n".join(lines)


def _jsonable(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, float) and math.isnan(x):
        return None
    return str(x)
