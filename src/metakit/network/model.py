"""``nma``: frequentist network meta-analysis as R's netmeta, and its result.

The model is the graph-theoretical method (Rücker 2012; :mod:`metakit.network.graph`),
common and random effects, tau² by the generalised DerSimonian-Laird method (netmeta's
default) or by (RE)ML in the multivariate contrast model with a common tau² and
correlation 1/2 between contrasts of a multi-arm study (metafor's ``rma.mv``;
:mod:`metakit.network.likelihood`). Q is split into heterogeneity within designs and
inconsistency between designs (Krahn, Binder & König 2013; :mod:`metakit.network.inconsistency`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from metakit.network import graph
from metakit.network.data import NetworkData, from_arms, from_contrasts
from metakit.network.estimates import NetworkEstimates
from metakit.stats.heterogeneity import higgins_thompson_ci
from metakit.stats.inference import Test
from metakit.stats.measures import is_ratio


def _chi2_test(Q: float, df: int, name: str) -> Test:
    pval = float(special.chdtrc(df, Q)) if df > 0 else math.nan
    return Test(statistic=float(Q), df=float(df), pval=pval, distribution="chi2", name=name)


@dataclass(frozen=True)
class NetworkResult:
    """A fitted network meta-analysis (frozen).

    Attributes
    ----------
    data
        The checked contrasts (:class:`~metakit.network.data.NetworkData`).
    reference
        Reference treatment of :meth:`to_frame` and the forest plot.
    common, random
        :class:`~metakit.network.estimates.NetworkEstimates` of each model.
    tau2, tau, tau2_method
        Between-study variance, its square root and its estimator ("DL", "REML", "ML").
    Q, Q_within, Q_between
        Cochran's Q of the network, heterogeneity within designs and inconsistency between
        designs (:class:`metakit.stats.inference.Test`).
    I2, I2_lower, I2_upper
        I² (percent) from Q and its test-based CI (Higgins & Thompson 2002), as netmeta.
    weights_common, weights_random
        Reduced (Rücker) weights of the contrasts.
    leverage
        Diagonal of the common-effect hat matrix for contrasts of two-arm studies (NaN for
        multi-arm studies, as netmeta).
    small_values
        "good" when smaller effects are better (rankings), else "bad".
    level
        Confidence level.
    fit_common, fit_designs
        The common-effect graph fit and the design-by-treatment fit, kept for the decomposition.
    """

    data: NetworkData
    reference: str
    common: NetworkEstimates
    random: NetworkEstimates
    tau2: float
    tau: float
    tau2_method: str
    Q: Test
    Q_within: Test
    Q_between: Test
    I2: float
    I2_lower: float
    I2_upper: float
    weights_common: np.ndarray
    weights_random: np.ndarray
    leverage: np.ndarray
    small_values: str
    level: float
    fit_common: graph.GraphFit | None = field(default=None, repr=False, compare=False)
    fit_designs: Any = field(default=None, repr=False, compare=False)

    @property
    def treatments(self) -> tuple[str, ...]:
        """Treatment labels, sorted."""
        return self.data.treatments

    def estimates(self, model: str = "random") -> NetworkEstimates:
        """The estimates of ``model`` ("common" or "random")."""
        if model not in ("common", "random"):
            raise ValueError(f"model must be 'common' or 'random', not {model!r}")
        return self.common if model == "common" else self.random

    def with_reference(self, reference: str) -> NetworkResult:
        """The same fit reported against another reference treatment."""
        import dataclasses

        self.common.index(reference)
        return dataclasses.replace(self, reference=reference)

    def ranking(self, model: str = "random", nsim: int = 10000, seed: int | None = 1234):
        """P-scores and SUCRA (:func:`metakit.network.ranking.ranking`)."""
        from metakit.network.ranking import ranking

        return ranking(self.estimates(model), self.small_values, nsim, seed)

    def pscores(self, model: str = "random") -> np.ndarray:
        """P-scores (Rücker & Schwarzer 2015) in treatment order."""
        from metakit.network.ranking import pscores

        return pscores(self.estimates(model), self.small_values)

    def league(self, model: str = "random", upper: str = "direct", digits: int = 2):
        """League table (:func:`metakit.network.league.league_table`)."""
        from metakit.network.league import league_table

        return league_table(self, model, upper, digits)

    def decomp_design(self):
        """Design-by-treatment decomposition of Q (:func:`metakit.network.inconsistency.decomp_design`)."""
        from metakit.network.inconsistency import decomp_design

        return decomp_design(self.data, self.fit_common, self.fit_designs)

    def netsplit(self, model: str = "random", tol_direct: float = 0.0005):
        """Node-splitting by back-calculation (:func:`metakit.network.inconsistency.netsplit`)."""
        from metakit.network.inconsistency import netsplit

        return netsplit(self.data, self.estimates(model), tol_direct, is_ratio(self.data.measure))

    def prop_direct(self, model: str = "random") -> np.ndarray:
        """Proportion of direct evidence, n x n (symmetric; 0 without direct evidence)."""
        from metakit.network.inconsistency import prop_direct

        p = prop_direct(self.data, self.estimates(model))
        p = np.triu(p, 1)
        return p + p.T

    def forest_table(self, *, show: str = "random", prediction: bool = True, digits: int = 2, **_ignored):
        """The forest plot's table of every treatment against the reference: the hook through
        which :func:`metakit.plots.forest.forest` draws a network (``show``: "random" or
        "common"; "primary" is random effects). Study-level options do not apply."""
        from metakit.plots.network import forest_versus_reference

        model = "common" if show == "common" else "random"
        return forest_versus_reference(self, model, digits, prediction)

    def to_frame(self):
        """Every treatment against the reference, both models: one row per treatment and model.

        Columns: treatment, reference, model, TE, seTE, lower, upper, statistic, pval,
        lower_predict, upper_predict (random effects only), and exp_TE, exp_lower, exp_upper for
        ratio measures.
        """
        import pandas as pd

        rows = []
        for model in ("common", "random"):
            v = self.estimates(model).versus(self.reference)
            frame = pd.DataFrame({"treatment": self.treatments, "reference": self.reference, "model": model,
                                  **{k: v[k] for k in ("TE", "seTE", "lower", "upper", "statistic", "pval")}})
            if model == "random":
                frame["lower_predict"], frame["upper_predict"] = v["lower_predict"], v["upper_predict"]
            rows.append(frame)
        out = pd.concat(rows, ignore_index=True)
        if is_ratio(self.data.measure):
            for col in ("TE", "lower", "upper"):
                out["exp_" + col] = np.exp(out[col])
        return out

    def pairwise(self, model: str = "random"):
        """All n(n-1)/2 comparisons (treat1 before treat2 in sorted order) with CIs and PIs."""
        import pandas as pd

        mat = self.estimates(model).matrix()
        i, j = np.triu_indices(self.data.n, 1)
        frame = pd.DataFrame({"treat1": [self.treatments[a] for a in i], "treat2": [self.treatments[b] for b in j]})
        for key in ("TE", "seTE", "lower", "upper", "statistic", "pval"):
            frame[key] = mat[key][i, j]
        if model == "random":
            frame["lower_predict"], frame["upper_predict"] = mat["lower_predict"][i, j], mat["upper_predict"][i, j]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready): settings, heterogeneity, both models against the reference."""
        def plain(x):
            arr = np.asarray(x, dtype=float)
            return np.where(np.isnan(arr), None, arr).tolist()

        out: dict[str, Any] = {
            "measure": self.data.measure, "reference": self.reference, "treatments": list(self.treatments),
            "k": self.data.k, "m": self.data.m, "n": self.data.n, "tau2_method": self.tau2_method,
            "tau2": self.tau2, "tau": self.tau, "I2": self.I2, "I2_lower": self.I2_lower, "I2_upper": self.I2_upper,
            "Q": self.Q.to_dict(), "Q_within": self.Q_within.to_dict(), "Q_between": self.Q_between.to_dict(),
            "small_values": self.small_values, "level": self.level, "notes": list(self.data.notes),
        }
        for model in ("common", "random"):
            v = self.estimates(model).versus(self.reference)
            out[model] = {k: plain(val) for k, val in v.items()}
        return json.loads(json.dumps(out))

    def summary(self, digits: int = 4) -> str:
        """netmeta-like text: data, effects against the reference, heterogeneity and Q split."""
        ratio = is_ratio(self.data.measure)
        lines = [f"Network meta-analysis ({self.data.measure}): {self.data.k} studies, {self.data.m} pairwise "
                 f"comparisons, {self.data.n} treatments, {len(self.data.designs()[1])} designs",
                 f"Reference: {self.reference}", ""]
        for model in ("common", "random"):
            v = self.estimates(model).versus(self.reference)
            lines.append(f"{'Common' if model == 'common' else 'Random'} effects model"
                         + (f" ({self.data.measure}, back-transformed)" if ratio else ""))
            width = max(len(t) for t in self.treatments)
            for t, te, lo, hi, p in zip(self.treatments, v["TE"], v["lower"], v["upper"], v["pval"]):
                if t == self.reference:
                    continue
                f = np.exp if ratio else (lambda x: x)
                lines.append(f"  {t:<{width}}  {f(te):.{digits}f} [{f(lo):.{digits}f}; {f(hi):.{digits}f}]"
                             f"  p = {p:.4g}")
            lines.append("")
        lines.append(f"tau² = {self.tau2:.{digits}f} ({self.tau2_method}); tau = {self.tau:.{digits}f}; "
                     f"I² = {self.I2:.1f}% [{self.I2_lower:.1f}%; {self.I2_upper:.1f}%]")
        for label, t in (("Total", self.Q), ("Within designs", self.Q_within), ("Between designs", self.Q_between)):
            p = "NA" if math.isnan(t.pval) else f"{t.pval:.4g}"
            lines.append(f"  {label:<16} Q = {t.statistic:.2f}, df = {int(t.df)}, p = {p}")
        lines.extend(self.data.notes)
        return "\n".join(lines)


def nma(data: Any, *, measure: str | None = None, reference: str | None = None, tau2_method: str = "DL",
        small_values: str = "good", level: float = 0.95, arm_level: bool | None = None,
        columns: dict[str, str] | None = None, covariance: str = "full") -> NetworkResult:
    """Frequentist network meta-analysis by the graph-theoretical method (netmeta).

    Parameters
    ----------
    data
        :class:`~metakit.network.data.NetworkData`, or a DataFrame / CSV path of arm-level
        rows (study, treatment, events and n, or mean, sd and n) or contrast-level rows
        (studlab, treat1, treat2, TE, seTE).
    measure
        Effect measure; required for arm-level data ("OR", "RR", "RD", "MD", "SMD", ...).
    reference
        Reference treatment (default: the first in sorted order).
    tau2_method
        "DL" (generalised DerSimonian-Laird, netmeta's default), "REML" or "ML".
    small_values
        "good" if smaller effects are better (for rankings), "bad" otherwise.
    level
        Confidence level.
    arm_level
        Whether ``data`` is arm-level; by default arm-level when it has a ``treatment`` column.
    columns
        Column names passed to :func:`~metakit.network.data.from_arms` or
        :func:`~metakit.network.data.from_contrasts`.
    covariance
        Within-study covariance of multi-arm contrasts in the (RE)ML likelihood: "full" (the
        covariance the contrast variances imply; as metafor's rma.mv and as netmeta for
        arm-level data) or "netmeta" (netmeta's choice for contrast-level input; see
        :mod:`metakit.network.likelihood`).

    Returns
    -------
    NetworkResult

    Examples
    --------
    C versus A pools the direct -0.9 (var 0.04) with the indirect -(0.5 + 0.2) (var 0.05):
    (-0.9 / 0.04 - 0.7 / 0.05) / (25 + 20) = -0.8111.

    >>> res = nma({"studlab": ["s1", "s2", "s3"], "treat1": ["A", "B", "A"], "treat2": ["B", "C", "C"],
    ...            "TE": [0.5, 0.2, 0.9], "seTE": [0.1, 0.2, 0.2]}, reference="A")
    >>> round(float(res.common.versus("A")["TE"][2]), 4), res.Q.df
    (-0.8111, 1.0)
    """
    if tau2_method not in ("DL", "REML", "ML"):
        raise ValueError(f"tau2_method must be 'DL', 'REML' or 'ML', not {tau2_method!r}")
    if small_values not in ("good", "bad"):
        raise ValueError(f"small_values must be 'good' or 'bad', not {small_values!r}")
    net = _network(data, measure, arm_level, columns or {})
    ref = net.treatments[0] if reference is None else reference
    if ref not in net.treatments:
        raise KeyError(f"reference {ref!r} is not a treatment of the network ({', '.join(net.treatments)})")
    from metakit.network.inconsistency import within_designs

    v = net.seTE**2
    common = graph.fit_graph(net, v)
    df = graph.df_Q(net)
    if tau2_method == "DL":
        tau2 = graph.tau2_dl(net, common)
    else:
        from metakit.network.likelihood import tau2_likelihood

        tau2 = tau2_likelihood(net, tau2_method, covariance, net.treatments.index(ref))
    random = graph.fit_graph(net, v + tau2)
    within = within_designs(net, v, common)
    Q_w, df_w = float(within.Q.sum()), int(net.layout.df.sum())
    ci = higgins_thompson_ci(common.Q, df, level)
    lev = np.where(net.two_arm, common.w * graph.edge_variance(common.Lplus, net.t1, net.t2), np.nan)
    return NetworkResult(
        data=net, reference=ref,
        common=NetworkEstimates("common", net.treatments, common.theta, common.Lplus, level, 0.0, df),
        random=NetworkEstimates("random", net.treatments, random.theta, random.Lplus, level, tau2, df),
        tau2=tau2, tau=math.sqrt(tau2), tau2_method=tau2_method,
        Q=_chi2_test(common.Q, df, "Q"), Q_within=_chi2_test(Q_w, df_w, "Q within designs"),
        Q_between=_chi2_test(common.Q - Q_w, df - df_w, "Q between designs"),
        I2=float(ci.I2[0]), I2_lower=float(ci.I2[1]), I2_upper=float(ci.I2[2]),
        weights_common=common.w, weights_random=random.w, leverage=lev, small_values=small_values, level=level,
        fit_common=common, fit_designs=within)


def _network(data: Any, measure: str | None, arm_level: bool | None, columns: dict[str, str]) -> NetworkData:
    if isinstance(data, NetworkData):
        return data
    from metakit.network.data import _frame

    frame = _frame(data)
    if arm_level is None:
        arm_level = columns.get("treatment", "treatment") in frame.columns
    if arm_level:
        if measure is None:
            raise ValueError("arm-level data need a measure (OR, RR, RD, MD, SMD, ROM, AS)")
        return from_arms(frame, measure, **columns)
    return from_contrasts(frame, measure=measure or "GEN", **columns)
