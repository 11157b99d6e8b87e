"""Pairwise analyses, one sub-section per outcome: forest plot, heterogeneity, the result
sentence, subgroups, meta-regression with bubble plots, funnel plot and the guardrails.

A failing subgroup or meta-regression is shown as a failure inside its outcome; a
failing outcome (e.g. a missing column) is shown in place of that outcome by the runner.
"""

from __future__ import annotations

import math
import warnings

from metakit.errors import MetakitWarning
from metakit.report import guardrails as g
from metakit.report.blocks import Failure, Paragraph, Section, save_figure, save_table
from metakit.report.context import Context
from metakit.report.sentences import estimate_text, result_sentence
from metakit.report.spec import Outcome

_BINARY = {"OR", "RR", "RD", "PETO"}
_DEFAULTS = {"events": ["e_t", "e_c"], "totals": ["n_t", "n_c"], "means": ["m_t", "m_c"],
             "sds": ["sd_t", "sd_c"], "ns": ["n_t", "n_c"]}


def _columns(o: Outcome) -> dict[str, list[str]]:
    keys = ("events", "totals") if o.measure in _BINARY else ("means", "sds", "ns")
    return {k: list(o.columns.get(k) or _DEFAULTS[k]) for k in keys}


def _rows(ctx: Context, o: Outcome):
    """The outcome's rows with study labels, and the excluded rows with their reasons."""
    from metakit.errors import DataError

    df = ctx.sheet(o.sheet)
    for col, value in o.where.items():
        if col not in df.columns:
            raise DataError(f"outcome {o.id!r}: 'where' names column {col!r}, not in sheet {o.sheet!r}")
        df = df[df[col].astype(str) == value]
    if df.empty:
        raise DataError(f"outcome {o.id!r}: no rows of sheet {o.sheet!r} match {o.where}")
    df = df.assign(study_label=ctx.labels(df)).reset_index(drop=True)
    needed = [c for pair in _columns(o).values() for c in pair]
    absent = [c for c in needed + list(o.subgroups) + list(o.moderators) if c not in df.columns]
    if absent:
        raise DataError(f"outcome {o.id!r}: column(s) {absent} not in sheet {o.sheet!r}")
    gaps = df[needed].isna()
    excluded = [f"{s} (no {', '.join(c for c in needed if gap[c])})"
                for s, (_, gap) in zip(df.study_label, gaps.iterrows()) if gap.any()]
    return df[~gaps.any(axis=1)].reset_index(drop=True), excluded


def _effects(o: Outcome, df):
    import metakit as mk

    cols = _columns(o)
    keep = tuple(dict.fromkeys([*o.subgroups, *o.moderators]))
    return mk.effect_sizes(df, o.measure, study="study_label", keep=keep,
                           **{k: tuple(v) for k, v in cols.items()})


def _fit(o: Outcome, es, **extra):
    import metakit as mk

    return mk.meta(es, model=o.model, method=o.method, tau2_method=o.tau2, ci=o.ci,
                   convention=o.convention, **extra)


def _labels(o: Outcome) -> tuple[str, str, tuple[str, str]]:
    e = o.labels.get("experimental", "Experimental")
    c = o.labels.get("control", "Control")
    left, right = (e, c) if o.better == "lower" else (c, e)
    return e, c, (f"Favours {left}", f"Favours {right}")


def _display(res):
    """The study rows and totals with readable column names."""
    frame = res.to_frame()
    return frame.rename(columns={"study": "Study", "estimate": res.measure, "ci_lb": "CI lower",
                                 "ci_ub": "CI upper", "weight_common": "Weight common (%)",
                                 "weight_random": "Weight random (%)"})


def _subgroup(ctx: Context, o: Outcome, es, by: str, labels) -> Section:
    e, c, favours = labels
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetakitWarning)
        sub = _fit(o, es, by=by)
    section = Section(f"{o.id}-subgroups-{by}", f"Subgroups by {by}")
    stem = f"{o.id}_subgroups_{by}"
    fig = sub.forest(label_e=e, label_c=c, favours=favours, title=f"{o.name}, by {by}")
    texts = []
    for name, r in zip(sub.groups, sub.subgroups):
        p = r.predict() if r.is_ratio else {"pred": r.estimate, "ci_lb": r.ci_lb, "ci_ub": r.ci_ub}
        nums = estimate_text(o.measure, p["pred"], p["ci_lb"], p["ci_ub"], r.pval, r.heterogeneity.I2)
        texts.append(f"{name}: {nums} ({r.k} stud{'y' if r.k == 1 else 'ies'})")
    section.blocks.append(Paragraph("; ".join(texts) + ". " + sub.test_line() + "."))
    if caught:
        section.blocks.append(Paragraph("Notes from the analysis: " + " ".join(str(w.message) for w in caught)))
    section.blocks.extend(w for name, r in zip(sub.groups, sub.subgroups)
                          if (w := g.tau2_too_few(f"{o.name}, subgroup {name}", o.model, r.k)) is not None)
    section.blocks.append(save_figure(fig, ctx.figures, stem,
                                      f"Forest plot of {o.name.lower()} by {by}. " + "; ".join(texts)
                                      + ". " + sub.test_line(), f"{o.name}: subgroups by {by}"))
    section.numbers = {"test_pval": sub.test.pval, "groups": list(sub.groups)}
    return section


def _metareg(ctx: Context, o: Outcome, es, moderator: str, tau2: str) -> Section:
    import pandas as pd

    import metakit as mk

    section = Section(f"{o.id}-metareg-{moderator}", f"Meta-regression on {moderator}")
    values = pd.to_numeric(es.data[moderator], errors="coerce") if moderator in es.data else None
    have = 0 if values is None else int(values.notna().sum())
    if have < 3:
        section.blocks.append(Paragraph(f"Not run: {have} of {len(es.data)} studies report {moderator}; "
                                        "a meta-regression needs at least 3."))
        return section
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)  # the dropped studies are listed below
        mr = mk.metareg(es, f"~ {moderator}", model=o.model, tau2_method=tau2, ci=o.ci)
    slope = mr.to_frame().loc[moderator]
    qm = mr.QM
    dropped = f" Studies without {moderator}: {', '.join(mr.dropped)}." if mr.dropped else ""
    text = (f"{mr.k} studies; slope {slope['estimate']:.4f} per unit of {moderator} "
            f"(95% CI {slope['ci_lb']:.4f} to {slope['ci_ub']:.4f}; P = {slope['pval']:.3g}); "
            f"residual I² = {mr.I2:.0f}%; test of moderators {qm.name or 'QM'} = {qm.statistic:.2f} "
            f"(P = {qm.pval:.3g}).{dropped}")
    if mr.k < 10:
        text += (" With fewer than 10 studies a meta-regression is exploratory at best "
                 "(Cochrane Handbook 10.11.5.1).")
    section.blocks.append(Paragraph(text))
    fig = mr.bubble(moderator, labels=True)
    section.blocks.append(save_figure(fig, ctx.figures, f"{o.id}_bubble_{moderator}",
                                      f"Bubble plot of {o.name.lower()} ({o.measure}) against {moderator}: {text}",
                                      f"{o.name}: meta-regression on {moderator}"))
    section.blocks.append(save_table(mr.to_frame().reset_index(), ctx.tables, f"{o.id}_metareg_{moderator}",
                                     f"Meta-regression coefficients ({moderator})"))
    section.numbers = {"slope": float(slope["estimate"]), "k": mr.k, "QM_pval": float(qm.pval)}
    kind = f"mixed-effects, tau² by {tau2}" if o.model == "random" else "common-effect"
    section.methods.append(f"Meta-regression ({kind}, {o.ci} tests) was run on each moderator "
                           "separately where at least 3 studies reported it")
    return section


def build(ctx: Context, o: Outcome) -> Section:
    """Every analysis of outcome ``o``."""
    section = Section(o.id, o.name)
    df, excluded = _rows(ctx, o)
    es = _effects(o, df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetakitWarning)
        res = _fit(o, es)
    labels = _labels(o)
    e, c, favours = labels
    h = res.heterogeneity
    i2 = h.I2 if res.k > 1 else None
    pred = res.predict() if res.is_ratio else {"pred": res.estimate, "ci_lb": res.ci_lb,
                                               "ci_ub": res.ci_ub, "pi_lb": res.pi_lb, "pi_ub": res.pi_ub}
    sentence = result_sentence(ctx.spec.intervention, o.noun, o.measure, o.better, pred["pred"],
                               pred["ci_lb"], pred["ci_ub"], res.pval, i2, res.k, res.settings.level)
    section.numbers = {"k": res.k, "estimate": pred["pred"], "ci_lb": pred["ci_lb"], "ci_ub": pred["ci_ub"],
                       "pval": res.pval, "I2": h.I2, "tau2": res.tau2, "sentence": sentence}
    section.blocks.append(Paragraph(sentence))
    studies = df.study_label.tolist()
    illustrative = [s for s, flag in zip(studies, df.get("illustrative", [""] * len(df)))
                    if str(flag).lower() in ("yes", "true", "1")]
    if illustrative:
        section.blocks.append(Paragraph(f"Illustrative data (not from a published trial): "
                                        f"{', '.join(illustrative)}."))
    if excluded:
        section.blocks.append(Paragraph("Excluded for missing data (a study without these figures "
                                        "cannot be pooled): " + "; ".join(excluded) + "."))
    show_pi = o.prediction and o.model == "random" and res.k >= 3
    fig = res.forest(label_e=e, label_c=c, favours=favours, prediction=show_pi, title=o.name)
    per_study = "; ".join(f"{s} {v:.2f}" for s, v in zip(res.study, res.to_frame()["estimate"][:res.k]))
    pooled = estimate_text(o.measure, pred["pred"], pred["ci_lb"], pred["ci_ub"], res.pval, i2)
    section.blocks.append(save_figure(fig, ctx.figures, f"{o.id}_forest",
                                      f"Forest plot of {o.name.lower()}, {res.k} studies ({o.measure}): "
                                      f"{per_study}. Pooled: {pooled}.", f"{o.name}: forest plot"))
    het = [res.heterogeneity_line() + ".", res.overall_line() + "."]
    if show_pi and math.isfinite(res.pi_lb):
        het.append(f"Prediction interval: {pred['pi_lb']:.2f} to {pred['pi_ub']:.2f} ({res.pi_description}).")
    section.blocks.append(Paragraph(" ".join(het)))
    section.blocks.append(save_table(_display(res), ctx.tables, f"{o.id}_studies",
                                     f"{o.name}: study estimates and weights"))
    notes = [str(w.message) for w in caught] + list(res.notes)
    if notes:
        section.blocks.append(Paragraph("Notes from the analysis: " + " ".join(notes)))
    method_bits = [res.methods_text, es.methods.get("text", "")]
    if show_pi:
        method_bits.append(f"Prediction intervals: {res.pi_description}")
    section.methods.extend(m for m in method_bits if m)

    checks = [g.common_effect_heterogeneity(o.name, o.model, h.I2),
              g.tau2_too_few(o.name, o.model, res.k),
              g.no_prediction_interval(o.name, o.model, h.I2, show_pi)]
    if o.measure == "MD":
        cols = _columns(o)
        checks.append(g.mixed_scales(o.name, o.measure, studies, df[cols["means"]].to_numpy(float),
                                     df[cols["sds"]].to_numpy(float)))
    if ctx.study_totals:
        n = _columns(o).get("totals") or _columns(o)["ns"]
        totals = dict(zip(studies, df[n].sum(axis=1).astype(float)))
        checks.append(g.totals_disagree(o.name, totals, ctx.study_totals))
    if o.funnel:
        checks.append(g.funnel_too_few(o.name, res.k))
    section.blocks[1:1] = [w for w in checks if w is not None]

    for by in o.subgroups:
        section.children.append(_guarded(f"Subgroups by {by}", f"{o.id}-subgroups-{by}",
                                         lambda by=by: _subgroup(ctx, o, es, by, labels)))
    for mod in o.moderators:
        section.children.append(_guarded(f"Meta-regression on {mod}", f"{o.id}-metareg-{mod}",
                                         lambda mod=mod: _metareg(ctx, o, es, mod, res.settings.tau2_method)))
    if o.funnel:
        funnel = Section(f"{o.id}-funnel", "Funnel plot")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetakitWarning)  # shown as the funnel guardrail
            fig = res.funnel(contours=True, title=o.name)
        funnel.blocks.append(save_figure(fig, ctx.figures, f"{o.id}_funnel",
                                         f"Contour-enhanced funnel plot of {o.name.lower()}: {res.k} studies, "
                                         "effect against standard error.", f"{o.name}: funnel plot"))
        funnel.blocks.append(Paragraph("The tests for funnel plot asymmetry and trim-and-fill are in "
                                       "the sensitivity analyses."))
        section.children.append(funnel)
    return section


def _guarded(title: str, sid: str, build) -> Section:
    try:
        return build()
    except Exception as exc:  # one analysis failing must not stop the outcome
        return Section(sid, title, blocks=[Failure(title, f"{type(exc).__name__}: {exc}")])


def steps(ctx: Context) -> list:
    """One step per outcome."""
    return [(f"Outcome: {o.name}", lambda o=o: build(ctx, o)) for o in ctx.spec.outcomes]
