"""Sensitivity analyses per outcome: leave-one-out, influence, Baujat plot, small-study tests.

Each outcome of the review file is refitted as in "Results by outcome" and then:
leave-one-out (table and forest plot), influence diagnostics (metafor's ``influence()``;
studies flagged as influential named), the Baujat plot, and the funnel-asymmetry tests
(Egger's regression test, Begg's rank correlation, trim-and-fill with the imputed studies
drawn hollow in the funnel plot). Mantel-Haenszel and Peto outcomes are refitted by
inverse variance for these analyses, and the report says so. Outcomes with fewer than 3
studies have nothing to leave out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from metakit.errors import MetakitWarning
from metakit.report.blocks import Paragraph, Section, save_figure, save_table
from metakit.report.context import Context
from metakit.report.sections import outcomes as oc
from metakit.report.spec import Outcome


def _fmt(x: float) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.2f}"


def build(ctx: Context, o: Outcome) -> Section:
    """The sensitivity analyses of outcome ``o``."""
    section = Section(f"{o.id}-sensitivity", o.name)
    df, _ = oc._rows(ctx, o)
    es = oc._effects(o, df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)  # the outcome's section shows them
        res = oc._fit(o, es)
        if res.settings.method != "inverse":
            section.blocks.append(Paragraph(
                f"The analysis pools by {res.settings.method}; these sensitivity analyses refit it "
                "by inverse variance (the same model otherwise)."))
            import metakit as mk

            res = mk.meta(es, model=o.model, method="inverse", tau2_method=o.tau2, ci=o.ci,
                          convention=o.convention)
    if res.k < 3:
        section.blocks.append(Paragraph(f"{res.k} studies: too few to leave one out or to test "
                                        "for small-study effects; none of these analyses was run."))
        return section
    loo = res.leave_one_out()
    frame = loo.to_frame() if hasattr(loo, "to_frame") else loo
    section.blocks.append(save_table(frame, ctx.tables, f"{o.id}_leave_one_out",
                                     f"{o.name}: leave-one-out analysis (each row omits one study)"))
    est = frame["estimate"].to_numpy(float)
    shown = np.exp(est) if res.is_ratio else est
    lo, hi = int(np.nanargmin(shown)), int(np.nanargmax(shown))
    section.blocks.append(Paragraph(
        f"Leaving out one study at a time, the pooled {res.measure} ranged from {_fmt(shown[lo])} "
        f"(without {frame.iloc[lo, 0]}) to {_fmt(shown[hi])} (without {frame.iloc[hi, 0]})."))
    infl = res.influence()
    iframe = infl.to_frame() if hasattr(infl, "to_frame") else infl
    section.blocks.append(save_table(iframe, ctx.tables, f"{o.id}_influence",
                                     f"{o.name}: influence diagnostics (metafor's rules)"))
    flagged = [str(s) for s, f in zip(iframe["study"], iframe["influential"]) if f]
    section.blocks.append(Paragraph(
        "Influential studies by metafor's rules: " + (", ".join(flagged) if flagged else "none") + "."))
    fig = res.baujat(path=None, label="all", title=o.name)
    section.blocks.append(save_figure(fig, ctx.figures, f"{o.id}_baujat",
                                      f"Baujat plot of {o.name.lower()}: each study's contribution to "
                                      "heterogeneity against its influence on the pooled result.",
                                      f"{o.name}: Baujat plot"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)  # one sentence below says it once
        egger = res.regtest()
        begg = res.ranktest()
        tf = res.trimfill()
    tests = [egger.test, begg.test]
    rows = [{"test": t.name, "statistic": t.statistic, "df": t.df, "pval": t.pval} for t in tests]
    section.blocks.append(save_table(pd.DataFrame(rows), ctx.tables,
                                     f"{o.id}_small_study_tests",
                                     f"{o.name}: tests for funnel plot asymmetry"))
    filled = tf.k0
    few = (f" With {res.k} studies these tests are underpowered and cannot tell asymmetry from "
           "chance (Cochrane Handbook 10.4.3.1): report them as exploratory, if at all."
           if res.k < 10 else "")
    section.blocks.append(Paragraph(
        f"Trim-and-fill ({tf.estimator}) imputed {filled} stud{'y' if filled == 1 else 'ies'} on the "
        f"{tf.side} side.{few}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)  # shown as the funnel guardrail
        fig = res.funnel(filled=tf, title=o.name)
    section.blocks.append(save_figure(fig, ctx.figures, f"{o.id}_funnel_trimfill",
                                      f"Funnel plot of {o.name.lower()} with the studies imputed by "
                                      "trim-and-fill drawn hollow.",
                                      f"{o.name}: funnel plot with trim-and-fill"))
    return section


def steps(ctx: Context) -> list:
    """One step per outcome."""
    return [(f"Sensitivity: {o.name}",
             lambda o=o: oc._guarded(o.name, f"{o.id}-sensitivity", lambda: build(ctx, o)))
            for o in ctx.spec.outcomes]
