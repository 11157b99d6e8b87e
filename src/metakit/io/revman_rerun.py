"""Re-run a RevMan outcome with metakit's public API and compare with RevMan's stored results.

Settings used (Deeks & Higgins 2010, *Statistical algorithms in Review Manager 5*):
``convention="revman"`` throughout (Mantel-Haenszel with Greenland-Robins variance for RD,
DerSimonian-Laird tau² from the MH heterogeneity statistic, I² = (Q - df)/Q), the pooled
CI level from ``CI_TOTAL``, RevMan's approximate Hedges' g for SMD (``vtype="revman"``),
Peto's method for ``PETO`` outcomes, and the inverse-variance method for continuous,
generic and O-E outcomes. Subgroups are pooled separately (each its own tau²) and tested
for differences as RevMan does.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.io.revman_xml import RevManError

if TYPE_CHECKING:
    from metakit.io.revman import RevManOutcome

_NEEDED = {"DICH": ("e_t", "n_t", "e_c", "n_c"), "CONT": ("m_t", "sd_t", "n_t", "m_c", "sd_c", "n_c"),
           "IV": ("estimate", "se"), "IPD": ("o_e", "var")}
# RevMan's attribute for each column, to name it in errors.
_ATTRIBUTE = {"e_t": "EVENTS_1", "n_t": "TOTAL_1", "e_c": "EVENTS_2", "n_c": "TOTAL_2", "m_t": "MEAN_1",
              "sd_t": "SD_1", "m_c": "MEAN_2", "sd_c": "SD_2", "estimate": "EFFECT_SIZE", "se": "SE",
              "o_e": "O_E", "var": "VAR"}


def _rows(outcome: RevManOutcome) -> pd.DataFrame:
    data = outcome.estimable
    if data.empty:
        raise RevManError(f"analysis {outcome.number} ({outcome.name}) has no estimable study to pool",
                          element=f"{outcome.type}_OUTCOME", line=outcome.line)
    for col in _NEEDED[outcome.type]:
        bad = data[col].isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            line = data["line"].iloc[i] if "line" in data else None
            raise RevManError(f"missing value ({col}) in a study RevMan marks estimable",
                              element=f"{outcome.type}_DATA",
                              line=None if pd.isna(line) else int(line),
                              attribute=_ATTRIBUTE[col], study=data["study"].iloc[i])
    return data


def effect_sizes(outcome: RevManOutcome):
    """:class:`~metakit.EffectSizes` of the outcome's estimable studies (see module docstring).

    A RevMan outcome lists a study once in each subgroup it contributes to, and RevMan pools
    those rows as it stores them; the warning about repeated study labels is not raised here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="duplicate study labels", category=MetakitWarning)
        return _effect_sizes(outcome)


def _effect_sizes(outcome: RevManOutcome):
    data = _rows(outcome).copy()
    data["subgroup"] = data["subgroup"].fillna("")
    keep = ("study_id", "year", "subgroup")
    level = outcome.ci_study / 100.0
    if outcome.type == "DICH":
        if outcome.swap_events:
            data["e_t"], data["e_c"] = data["n_t"] - data["e_t"], data["n_c"] - data["e_c"]
        measure = "OR" if outcome.measure == "PETO" else outcome.measure
        return mk.effect_sizes(data, measure, keep=keep)
    if outcome.type == "CONT":
        return mk.effect_sizes(data, outcome.measure, vtype="revman", keep=keep)
    if outcome.type == "IPD":
        data["yi"] = data["o_e"] / data["var"]
        data["vi"] = 1.0 / data["var"]
        return mk.effect_sizes(data, "GEN", estimate="yi", variance="vi", scale="log",
                               ci_level=level, keep=keep)
    return mk.effect_sizes(data, "GEN", estimate="estimate", se="se",
                           scale="log" if outcome.ratio else "identity", ci_level=level, keep=keep)


def rerun(outcome: RevManOutcome):
    """The outcome's analysis re-run with RevMan's settings."""
    es = effect_sizes(outcome)
    method = {"MH": "MH", "PETO": "Peto", "IV": "inverse"}[outcome.method]
    if outcome.type != "DICH":
        method = "inverse"
    by = "subgroup" if outcome.has_subgroups else None
    return mk.meta(es, model=outcome.model, method=method, tau2_method="DL", by=by,
                   level=outcome.ci_total / 100.0, convention="revman")


def _pooled_rows(level: str, fit, stored, transform) -> list[tuple]:
    p = fit.pooled
    h = fit.heterogeneity
    ours = {"estimate": transform(p.estimate), "ci_lb": transform(p.ci_lb), "ci_ub": transform(p.ci_ub),
            "z": abs(p.stat), "pval": p.pval, "Q": h.Q, "pval_Q": h.pval, "I2": h.I2,
            "tau2": fit.tau2, "df": float(h.df)}
    return [(level, name, ours[name], getattr(stored, name)) for name in ours]


def compare(outcome: RevManOutcome, result) -> pd.DataFrame:
    """metakit's numbers beside RevMan's (see :meth:`RevManOutcome.compare`)."""
    ratio = outcome.ratio
    transform = math.exp if ratio else float
    subgrouped = outcome.has_subgroups
    overall = result.overall if subgrouped else result
    rows: list[tuple] = []
    if outcome.totals != "SUB":
        rows += _pooled_rows("overall", overall, outcome.stored, transform)
    if subgrouped:
        for g in result.groups:
            rows += _pooled_rows(g, result[g], outcome.subgroups[g], transform)
        t, st = result.test, outcome.test
        rows += [("subgroup test", "Q", t.statistic, st.Q), ("subgroup test", "pval", t.pval, st.pval),
                 ("subgroup test", "I2", result.test_I2, st.I2)]
    pooled = pd.DataFrame(rows, columns=["level", "statistic", "metakit", "revman"])
    pooled.insert(0, "kind", np.where(pooled["level"] == "subgroup test", "test", "pooled"))
    frame = pd.concat([pooled, _study_rows(outcome, overall)], ignore_index=True)
    frame["difference"] = frame["metakit"] - frame["revman"]
    return frame


def _study_rows(outcome: RevManOutcome, overall) -> pd.DataFrame:
    """Study estimates, CIs, SEs and weights beside RevMan's, study by study.

    The fit's own study estimates are used (Peto's (O - E)/V for Peto fits); RevMan stores
    each study's weight in the overall analysis, also when the outcome has subgroups.
    """
    data = outcome.estimable.assign(subgroup=lambda d: d["subgroup"].fillna(""))
    fitted = overall.effects.data[["study_id", "subgroup"]].assign(_row=np.arange(overall.k))
    m = data.merge(fitted, on=["study_id", "subgroup"], how="inner")
    i = m["_row"].to_numpy()
    yi, se = np.asarray(overall.yi, float)[i], np.sqrt(np.asarray(overall.vi, float)[i])
    z = float(special.ndtri(1 - (1 - outcome.ci_study / 100.0) / 2))
    tr = np.exp if outcome.ratio else (lambda x: x)
    ours = {"effect": tr(yi), "ci_lb": tr(yi - z * se), "ci_ub": tr(yi + z * se),
            "weight": np.asarray(overall.weights, float)[i], "se": se}
    theirs = {"effect": "revman_effect", "ci_lb": "revman_ci_lb", "ci_ub": "revman_ci_ub",
              "weight": "revman_weight", "se": "revman_se"}
    # RevMan's SE attribute is the study's own SE only for arm-level data.
    names = [n for n in ours if n != "se" or outcome.type in ("DICH", "CONT")]
    k = len(m)
    return pd.DataFrame({
        "kind": "study", "level": np.repeat(m["study"].to_numpy(), len(names)),
        "statistic": np.tile(names, k),
        "metakit": np.column_stack([ours[n] for n in names]).ravel() if k else [],
        "revman": m[[theirs[n] for n in names]].to_numpy(float).ravel()})
