"""Subgroup analysis: a summary per subgroup and the test for subgroup differences.

Each subgroup is pooled with the settings of the overall analysis; all subgroups are
fitted in one batched call. With ``common_tau2=True`` one tau² is estimated from all
studies with a separate mean per subgroup (the mixed-effects model with subgroup
indicators as moderators, as metafor's ``rma(mods = ~ factor(g) - 1)``) and used in
every subgroup; otherwise each subgroup has its own tau² (RevMan, meta's default).

The test for subgroup differences (Borenstein et al. 2009, ch. 19; Deeks, Higgins &
Altman, Cochrane Handbook 10.11.3) treats the subgroup summaries as studies of a
common-effect meta-analysis: Q_b = sum w_g (mu_g - mu_bar)², w_g = 1/SE_g², on
G - 1 df, with I² = (Q_b - df)/Q_b.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metakit.errors import DataError
from metakit.formatting import fmt_num, fmt_p, fmt_pct
from metakit.stats.figure_methods import FigureMethods
from metakit.stats.inference import Test
from metakit.stats.kernel import Settings as FitSettings
from metakit.stats.kernel import fit as kernel_fit
from metakit.stats.moments import make_batch
from metakit.stats.pairwise import MetaResult, Settings, fit_one, fit_rows, result_from_row, rows_for_fit
from metakit.stats.tau2 import resolve


@dataclass(frozen=True)
class SubgroupResult(FigureMethods):
    """Subgroup meta-analysis: per-subgroup fits, the overall fit and the test.

    Attributes
    ----------
    by
        The column that defined the subgroups.
    groups
        Subgroup labels, in order of first appearance.
    subgroups
        One :class:`~metakit.stats.pairwise.MetaResult` per subgroup.
    overall
        All studies pooled together, ignoring subgroups.
    test
        The test for subgroup differences (chi² on G - 1 df).
    test_I2
        I² of that test (percent): the share of the variation between subgroup
        summaries beyond chance.
    common_tau2
        Whether one tau² was shared by all subgroups.
    """

    by: str
    groups: tuple[str, ...]
    subgroups: tuple[MetaResult, ...]
    overall: MetaResult
    test: Test
    test_I2: float
    common_tau2: bool

    @property
    def settings(self) -> Settings:
        """Settings of the analysis."""
        return self.overall.settings

    def test_line(self) -> str:
        """RevMan's line: ``Test for subgroup differences: Chi² = ..., df = ... (P = ...), I² = ...%``."""
        t = self.test
        return (f"Test for subgroup differences: Chi² = {fmt_num(t.statistic)}, df = {t.df:.0f} "
                f"(P {fmt_p(t.pval)}), I² = {fmt_pct(self.test_I2)}")

    def __getitem__(self, group: str) -> MetaResult:
        return self.subgroups[self.groups.index(group)]

    def to_frame(self) -> pd.DataFrame:
        """Per-study and per-summary rows of every subgroup, then the overall summaries."""
        parts = []
        for g, fit in zip(self.groups, self.subgroups):
            f = fit.to_frame()
            f.insert(0, "subgroup", g)
            parts.append(f)
        tot = self.overall.to_frame()
        tot = tot[tot["study"].str.startswith("Total")].copy()
        tot.insert(0, "subgroup", "Overall")
        return pd.concat(parts + [tot], ignore_index=True)

    def to_dict(self) -> dict:
        """Plain-value dictionary: each subgroup's fit, the overall fit and the test."""
        return {"by": self.by, "common_tau2": self.common_tau2,
                "subgroups": {g: f.to_dict() for g, f in zip(self.groups, self.subgroups)},
                "overall": self.overall.to_dict(), "test": self.test.to_dict(),
                "test_I2": self.test_I2}

    def summary(self) -> str:
        """RevMan-style summary: each subgroup's block, the total, and the test."""
        blocks = []
        for g, fit in zip(self.groups, self.subgroups):
            blocks.append(f"{self.by} = {g}\n" + "\n".join(
                "  " + line for line in fit.summary().splitlines()[1:]))
        head = self.overall.summary().splitlines()[0]
        over = self.overall.summary().splitlines()
        total = [ln for ln in over if ln.startswith(("Total", "Heterogeneity", "Test", "Prediction"))]
        return "\n".join([head] + blocks + ["Overall"] + ["  " + t for t in total]
                         + [self.test_line()])

    def __str__(self) -> str:
        return self.summary()


def subgroup_analysis(es, s: Settings, by: str, common_tau2: bool = False,
                      order: Sequence[str] | None = None) -> SubgroupResult:
    """Fit ``es`` by the subgroups in column ``by`` of ``es.data`` (see module docstring);
    ``order`` lists subgroups to put first, the rest follow in order of appearance."""
    if by not in es.data.columns:
        raise DataError(f"no such column for subgroups; columns are {', '.join(map(str, es.data.columns))}",
                        column=by)
    labels = es.data[by]
    if labels.isna().any():
        study = es.study[int(np.flatnonzero(labels.isna().to_numpy())[0])]
        raise DataError("subgroup label is missing", study=study, column=by)
    labels = labels.astype(str).to_numpy()
    groups = tuple(pd.unique(labels))
    if order is not None:
        wanted = [str(g).strip() for g in order]
        unknown = [g for g in wanted if g not in groups]
        if unknown:
            shown = ", ".join(groups)
            raise DataError(f"subgroup order names {unknown[0]!r}, which is not a subgroup "
                            f"(subgroups are: {shown[:200]})", column=by)
        groups = tuple(dict.fromkeys(wanted)) + tuple(g for g in groups if g not in wanted)
    codes = np.array([groups.index(x) for x in labels])
    yi, vi, arms = rows_for_fit(es, s)
    G, kmax = len(groups), int(np.bincount(codes).max())
    Y, V, M = np.zeros((G, kmax)), np.ones((G, kmax)), np.zeros((G, kmax), dtype=bool)
    slot = np.zeros(len(codes), dtype=int)
    for g in range(G):
        idx = np.flatnonzero(codes == g)
        slot[idx] = np.arange(idx.size)
    Y[codes, slot], V[codes, slot], M[codes, slot] = yi, vi, True
    A = None
    if arms is not None:
        A = {}
        for key, val in arms.items():
            arr = np.zeros((G, kmax))
            arr[codes, slot] = val
            A[key] = arr
    tau2_fixed = None
    if common_tau2 and s.model == "random":
        b = make_batch(yi[None, :], vi[None, :], strata=codes[None, :])
        t2, _, _, _ = resolve(b, s.tau2_method, s.tol, s.maxiter, s.fallback)
        tau2_fixed = np.full(G, t2[0])
    out = fit_rows(Y, V, M, A, s, tau2_fixed=tau2_fixed)
    fits = []
    for g in range(G):
        sel = codes == g
        notes = ["Note: one study in this subgroup; its summary is that study's estimate"] \
            if sel.sum() == 1 else []
        fits.append(result_from_row(es.subset(sel), s, out, g, M, yi[sel], vi[sel], notes))
    overall = fit_one(es, s)
    test, i2 = _difference_test(fits)
    return SubgroupResult(by=by, groups=groups, subgroups=tuple(fits), overall=overall,
                          test=test, test_I2=i2, common_tau2=bool(common_tau2))


def _difference_test(fits) -> tuple[Test, float]:
    """Q between subgroup summaries: the common-effect model on them, by the kernel."""
    est = np.array([f.pooled.estimate for f in fits])
    se = np.array([f.pooled.se for f in fits])
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    name = "Test for subgroup differences"
    if ok.sum() < 2:
        return Test(0.0, 0.0, 1.0, "chi2", name), 0.0
    f = kernel_fit(make_batch(est[ok][None], (se[ok] ** 2)[None]), FitSettings(model="common"))
    q = f.QE.at(0)
    return Test(q.statistic, q.df, q.pval, "chi2", name), float(f.I2[0])
