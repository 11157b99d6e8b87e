"""Pairwise meta-analysis: common- and random-effects models on effect sizes.

:func:`meta` pools an :class:`~metakit.stats.effects.EffectSizes` by inverse variance,
Mantel-Haenszel (OR, RR, RD) or Peto, computes both the common-effect and the
random-effects summary, heterogeneity, and a prediction interval, and returns a
:class:`MetaResult`. With ``by=`` it runs a subgroup analysis
(:class:`~metakit.stats.subgroups.SubgroupResult`).

Conventions (``convention=``):

``"metafor"`` (default)
    Inverse variance, REML tau², Wald z CIs, z-based prediction interval; Mantel-Haenszel
    (when asked for) pools the raw counts; I² of a random-effects model from tau².
``"revman"``
    RevMan 5 (Deeks & Higgins, "Statistical algorithms in Review Manager 5", 2010):
    Mantel-Haenszel for OR, RR and RD (RD variance of Greenland & Robins 1985 rather
    than metafor's Sato, Greenland & Robins 1989), with 0.5 added to every cell of a
    study with a zero cell; the random-effects model takes the DerSimonian-Laird tau² computed from
    the heterogeneity statistic around the Mantel-Haenszel estimate; I² = (Q - df)/Q;
    prediction interval with t(k - 2) (Higgins et al. 2009).

Cochran's Q for Mantel-Haenszel and Peto fits is the inverse-variance weighted sum of
squares of the study estimates around the pooled MH/Peto estimate (as metafor and RevMan).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
from scipy import special

from metakit.errors import DataError, MetakitWarning
from metakit.formatting import fmt_ci, fmt_num, fmt_p, fmt_pct, fmt_weight
from metakit.stats.batch import prediction_interval
from metakit.stats.effects import double_zero, zero_cell
from metakit.stats.figure_methods import FigureMethods
from metakit.stats.heterogeneity import (
    Heterogeneity,
    HeterogeneityCI,
    higgins_thompson_ci,
    i2_h2,
    q_profile,
    transform_ci,
)
from metakit.stats.inference import z_crit
from metakit.stats.kernel import Fit, fit
from metakit.stats.kernel import Settings as FitSettings
from metakit.stats.mantel_haenszel import MHTests, mantel_haenszel, mh_or_tests, peto
from metakit.stats.measures import NAMES as MEASURE_NAMES
from metakit.stats.measures import is_ratio
from metakit.stats.moments import make_batch, stats
from metakit.stats.sensitivity_methods import SensitivityMethods
from metakit.stats.tau2 import METHOD_NAMES

METHODS = {"inverse": "Inverse variance", "MH": "Mantel-Haenszel", "Peto": "Peto"}
CI_NAMES = {"z": "Wald z", "hk": "Hartung-Knapp", "hk-adhoc": "Hartung-Knapp (ad hoc correction)"}


@dataclass(frozen=True)
class Settings:
    """What a pairwise fit was asked to do; recorded on every result.

    The model settings are the kernel's (:class:`metakit.stats.kernel.Settings`,
    validated there); ``measure``, the pooling ``method`` and the ``convention`` are
    pairwise's own.
    """

    measure: str
    model: str
    method: str
    tau2_method: str
    ci: str
    pi: str
    level: float
    convention: str
    tol: float
    maxiter: int
    fallback: str | None

    def kernel(self, model: str | None = None) -> FitSettings:
        """The kernel settings of the ``model`` (default: the primary one).

        The common-effect summary always has a Wald z interval, as RevMan and R's meta
        show it beside a Hartung-Knapp random-effects summary.
        """
        return _kernel_settings(self, model or self.model)


@lru_cache(maxsize=256)
def _kernel_settings(s: Settings, model: str) -> FitSettings:
    # validated once per distinct settings, not on every fit
    return FitSettings(model=model, tau2_method=s.tau2_method, ci=s.ci if model == "random" else "z",
                       pi=s.pi, level=s.level, tol=s.tol, maxiter=s.maxiter, fallback=s.fallback)


@dataclass(frozen=True)
class Pooled:
    """One summary estimate (common-effect or random-effects) on the analysis scale.

    ``stat`` is a z statistic, or a t statistic on ``df`` degrees of freedom under
    Hartung-Knapp; ``weights`` are percentages summing to 100.
    """

    model: str
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    stat: float
    df: float
    pval: float
    weights: np.ndarray = field(repr=False)

    @property
    def stat_name(self) -> str:
        """``"z"`` or ``"t"``."""
        return "z" if math.isnan(self.df) else "t"


def rows_for_fit(es, settings: Settings):
    """The (yi, vi) a fit uses and the arm counts for MH/Peto (raw or corrected).

    For Mantel-Haenszel and Peto fits ``arms`` also holds ``informative``: the tables
    whose own estimate is defined, over which heterogeneity is measured (metafor's
    ``rma.mh`` and ``rma.peto``: every table counts in k and in the pooled estimate, a
    double-zero table, or one with events in everyone, adds nothing to it and is left
    out of Q, I² and H², and of tau²), unless the effect sizes were made with an explicit
    ``drop00=False`` (metafor's ``drop00 = FALSE``: the corrected table's estimate counts
    in Q too). Under ``convention="revman"`` MH keeps RevMan's rule instead: 0.5 added to
    every cell of a table with a zero cell, all tables used.
    """
    yi, vi = np.asarray(es.yi, float), np.asarray(es.vi, float)
    arms = None
    if settings.method in ("MH", "Peto"):
        if es.arm_columns != (("e1", "n1"), ("e2", "n2")):
            raise DataError(f"the {METHODS[settings.method]} method needs arm-level events and "
                            f"totals; these effect sizes have none", column="arms")
        a = {c: es.arms[c].to_numpy(float) for c in ("e1", "n1", "e2", "n2")}
        informative = ~double_zero(a["e1"], a["n1"], a["e2"], a["n2"])
        keep00 = bool(getattr(es, "methods", {}).get("keep00", False))
        if keep00 and settings.method == "MH":
            informative = np.ones(yi.shape, dtype=bool)
        if settings.method == "Peto":
            # Peto's own per-study estimates (O - E)/V with variance 1/V feed Q, over the
            # tables with V > 0 (as metafor's rma.peto and RevMan; metafor's df counts a
            # double-zero table kept with drop00=FALSE although it adds nothing to Q: here
            # the df are the tables that do)
            _, _, o_e, v = peto(a["e1"], a["n1"], a["e2"], a["n2"])
            informative = v > 0
            if not informative.any():
                raise DataError("Peto's method needs at least one study with events (V > 0); "
                                "every study has none, or events in everyone", column="events")
            # placeholders where V = 0: those tables are masked out of every IV quantity
            yi = np.where(informative, o_e / np.where(informative, v, 1.0), 0.0)
            vi = np.where(informative, 1.0 / np.where(informative, v, 1.0), 1.0)
        elif settings.convention == "revman":
            add = np.where(zero_cell(a["e1"], a["n1"], a["e2"], a["n2"]), 0.5, 0.0)
            a = {"e1": a["e1"] + add, "n1": a["n1"] + 2 * add,
                 "e2": a["e2"] + add, "n2": a["n2"] + 2 * add}
            informative = np.ones(yi.shape, dtype=bool)
        arms = {**a, "informative": informative}
    return yi, vi, arms


def fit_rows(y, v, mask, arms, s: Settings, tau2_fixed=None) -> dict:
    """Fit common and random models for each row of ``(n, k)`` arrays.

    The kernel behind :func:`meta` and subgroup analyses: one call fits every subgroup
    of an analysis. Both models are views of the one kernel
    (:func:`metakit.stats.kernel.fit`); Mantel-Haenszel and Peto are pooling strategies
    around it that replace the common-effect estimate and measure heterogeneity around
    it. Returns the two :class:`~metakit.stats.kernel.Fit` objects, the heterogeneity
    of the primary analysis (arrays ``(n,)``) and the weights of both models ``(n, k)``.
    """
    if arms is not None and not np.all(arms["informative"]):
        present = np.ones(np.shape(y), dtype=bool) if mask is None else np.asarray(mask, bool)
        b = make_batch(y, v, present & np.asarray(arms["informative"], dtype=bool))
    else:
        b = make_batch(y, v, mask)
    st0 = stats(b, 0.0 if b.scalar else np.zeros(b.n))
    f_common = fit(b, s.kernel("common"), st0=st0)
    Q, df, pQ = f_common.QE.statistic, f_common.QE.df, f_common.QE.pval
    s2 = f_common.s2
    w_fe = 1.0 / b.v
    mh = None
    if s.method == "inverse":
        wc = w_fe
    else:
        present = mask if mask is not None else np.ones(b.y.shape, dtype=bool)
        a = {key: np.where(present, arms[key], 0.0) for key in ("e1", "n1", "e2", "n2")}
        if s.method == "MH":
            est, var = mantel_haenszel(s.measure, a["e1"], a["n1"], a["e2"], a["n2"], present,
                                       "greenland-robins" if s.convention == "revman" else "sato")
            wc = _mh_weights(s.measure, a, present)
        else:
            est, var, _, wc = peto(a["e1"], a["n1"], a["e2"], a["n2"], present)
        se = np.sqrt(var)
        z = est / se
        crit = z_crit(s.level)
        mh = {"estimate": est, "se": se, "ci_lb": est - crit * se, "ci_ub": est + crit * se,
              "stat": z, "pval": 2 * special.ndtr(-np.abs(z))}
        # Q about the MH/Peto estimate: sum w (y - est)² = Q_IV + sum(w) (mu_IV - est)².
        gap = f_common.beta[:, 0] - est
        sw = 1.0 / f_common.vb[:, 0, 0]
        with np.errstate(invalid="ignore"):
            Q = np.where(df > 0, Q + sw * gap * gap, 0.0)
            pQ = np.where(df > 0, special.chdtrc(np.maximum(df, 1.0), Q), 1.0)
    if tau2_fixed is None and s.method != "inverse" and s.tau2_method == "DL":
        with np.errstate(invalid="ignore", divide="ignore"):
            tau2_fixed = np.where(df > 0, np.maximum(0.0, (Q - df) / (df / s2)), 0.0)
    f_random = fit(b, s.kernel("random"), tau2_fixed=tau2_fixed, st0=st0)
    t2 = f_random.tau2
    pi_lb, pi_ub = prediction_interval(f_random)
    use_q = s.model == "common" or s.convention == "revman"
    if b.scalar:
        # floats for a single fit: numpy's per-call overhead dominates one-element arrays
        i2, h2 = i2_h2(float(Q[0]), float(df[0]), float(s2[0]), float(t2[0]), random=not use_q)
        i2, h2 = np.array([i2]), np.array([h2])
    else:
        i2, h2 = i2_h2(Q, df, s2, t2, random=not use_q)
    return {"fit_common": f_common, "fit_random": f_random, "mh": mh, "w_common": wc,
            "w_random": 1.0 / (b.v + t2[:, None]), "tau2": t2,
            "converged": f_random.converged, "Q": Q, "df": df, "pQ": pQ, "s2": s2,
            "I2": i2, "H2": h2, "pi_lb": pi_lb, "pi_ub": pi_ub, "k": f_common.k}


def _mh_weights(measure: str, a: dict, m: np.ndarray) -> np.ndarray:
    """Mantel-Haenszel study weights (before normalising)."""
    n1, n2, e1, e2 = a["n1"], a["n2"], a["e1"], a["e2"]
    N = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            w = (n1 - e1) * e2 / N
        elif measure == "RR":
            w = e2 * n1 / N
        else:
            w = n1 * n2 / N
    return np.where(m > 0, w, 0.0)


def _pooled(model: str, f: Fit, i: int, w: np.ndarray, mask, mh: dict | None = None) -> Pooled:
    ww = w[i] if mask is None else w[i][mask[i]]
    tot = ww.sum()
    pct = 100.0 * ww / tot if tot > 0 else np.full(ww.shape, np.nan)
    if mh is not None:
        return Pooled(model=model, estimate=float(mh["estimate"][i]), se=float(mh["se"][i]),
                      ci_lb=float(mh["ci_lb"][i]), ci_ub=float(mh["ci_ub"][i]),
                      stat=float(mh["stat"][i]), df=float("nan"), pval=float(mh["pval"][i]),
                      weights=pct)
    return Pooled(model=model, estimate=float(f.beta[i, 0]), se=float(f.se[i, 0]),
                  ci_lb=float(f.ci_lb[i, 0]), ci_ub=float(f.ci_ub[i, 0]), stat=float(f.stat[i, 0]),
                  df=float(f.df[i]), pval=float(f.pval[i, 0]), weights=pct)


def result_from_row(es, s: Settings, out: dict, i: int, mask: np.ndarray, yi, vi,
                    notes=()) -> MetaResult:
    """Wrap row ``i`` of :func:`fit_rows` output in a :class:`MetaResult`."""
    df = int(out["df"][i])
    t2 = float(out["tau2"][i]) if s.model == "random" else 0.0
    het = Heterogeneity(Q=float(out["Q"][i]), df=df, pval=float(out["pQ"][i]),
                        I2=float(out["I2"][i]), H2=float(out["H2"][i]), tau2=t2,
                        tau=math.sqrt(t2), s2=float(out["s2"][i]))
    return MetaResult(
        effects=es, settings=s, yi=np.asarray(yi, float), vi=np.asarray(vi, float),
        common=_pooled("common", out["fit_common"], i, out["w_common"], mask, out["mh"]),
        random=_pooled("random", out["fit_random"], i, out["w_random"], mask),
        heterogeneity=het, tau2_random=float(out["tau2"][i]),
        se_tau2=float(out["fit_random"].se_tau2[i]),
        pi_lb=float(out["pi_lb"][i]), pi_ub=float(out["pi_ub"][i]), notes=tuple(notes))


@dataclass(frozen=True)
class MetaResult(FigureMethods, SensitivityMethods):
    """A pairwise meta-analysis: both summary models, heterogeneity, prediction interval.

    The model named in ``settings.model`` is the primary one: :attr:`estimate`,
    :attr:`ci_lb`, :attr:`pval` and friends refer to it. Estimates are on the analysis
    scale (log for ratio measures); :meth:`summary`, :meth:`to_frame` and
    :meth:`predict` back-transform ratio measures.
    """

    effects: object
    settings: Settings
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    common: Pooled
    random: Pooled
    heterogeneity: Heterogeneity
    tau2_random: float
    se_tau2: float
    pi_lb: float
    pi_ub: float
    notes: tuple[str, ...] = ()

    @property
    def pooled(self) -> Pooled:
        """The summary of the primary model."""
        return self.random if self.settings.model == "random" else self.common

    @property
    def estimate(self) -> float:
        """Primary summary estimate (analysis scale)."""
        return self.pooled.estimate

    @property
    def se(self) -> float:
        """Its standard error (Hartung-Knapp adjusted where asked)."""
        return self.pooled.se

    @property
    def ci_lb(self) -> float:
        """Lower confidence bound (analysis scale)."""
        return self.pooled.ci_lb

    @property
    def ci_ub(self) -> float:
        """Upper confidence bound (analysis scale)."""
        return self.pooled.ci_ub

    @property
    def pval(self) -> float:
        """p-value of the test of no effect."""
        return self.pooled.pval

    @property
    def tau2(self) -> float:
        """tau² of the primary model (0 for a common-effect model)."""
        return self.heterogeneity.tau2

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.study)

    @property
    def study(self) -> tuple[str, ...]:
        """Study labels."""
        return tuple(self.effects.study)

    @property
    def measure(self) -> str:
        """Effect measure (``"PETO"`` for Peto fits)."""
        return "PETO" if self.settings.method == "Peto" else self.settings.measure

    @property
    def is_ratio(self) -> bool:
        """True if estimates are log ratios (shown exponentiated)."""
        return is_ratio(self.measure, bool(getattr(self.effects, "is_ratio", False)))

    @property
    def weights(self) -> np.ndarray:
        """Study weights (percent) of the primary model."""
        return self.pooled.weights

    def transform(self, x):
        """Back-transform from the analysis scale (exp for ratio measures)."""
        return np.exp(x) if self.is_ratio else x

    @cached_property
    def _confint(self) -> HeterogeneityCI | None:
        if self.k < 2:
            return None
        b = make_batch(self.yi[None, :], self.vi[None, :])
        lo, hi = q_profile(b, self.settings.level)
        return transform_ci(self.tau2_random if self.settings.model == "random" else 0.0,
                            float(lo), float(hi), self.heterogeneity.s2,
                            self.settings.level)

    def confint(self, method: str = "q-profile"):
        """Confidence intervals for the heterogeneity statistics.

        ``method="q-profile"`` (default): tau², tau, I² and H² by the Q-profile method
        (Viechtbauer 2007), a :class:`~metakit.stats.heterogeneity.HeterogeneityCI`;
        ``"test-based"``: H, H² and I² from Q (Higgins & Thompson 2002, as R's meta
        prints beside the Q-profile one), a
        :class:`~metakit.stats.heterogeneity.HigginsThompsonCI`.

        Raises
        ------
        ValueError
            With a single study (no heterogeneity to estimate), or an unknown method.
        """
        if method == "test-based":
            h = self.heterogeneity
            if h.df < 1:
                raise ValueError("heterogeneity CIs need at least two studies")
            return higgins_thompson_ci(h.Q, h.df, self.settings.level)
        if method != "q-profile":
            raise ValueError(f"method must be 'q-profile' or 'test-based', got {method!r}")
        if self._confint is None:
            raise ValueError("heterogeneity CIs need at least two studies")
        return self._confint

    def mh_tests(self) -> MHTests:
        """Cochran-Mantel-Haenszel, Breslow-Day and Tarone tests of the odds ratios.

        As metafor's ``rma.mh`` reports them for odds ratios (see
        :func:`metakit.stats.mantel_haenszel.mh_or_tests`); needs arm-level counts.
        """
        arms = getattr(self.effects, "arms", None)
        if self.settings.measure != "OR" or arms is None or "e1" not in arms.columns:
            raise ValueError("the Mantel-Haenszel tests are defined for odds ratios from "
                             "arm-level events and totals")
        return mh_or_tests(*(arms[c].to_numpy(float) for c in ("e1", "n1", "e2", "n2")))

    def predict(self, transform: bool = True) -> dict:
        """Pooled estimate with CI and prediction interval, back-transformed by default.

        A common-effect model assumes tau² = 0, so its prediction interval is its
        confidence interval (metafor's ``predict`` of an equal-effects model reports the
        CI alone).
        """
        f = self.transform if transform else (lambda x: x)
        p = self.pooled
        pi_lb, pi_ub = ((self.pi_lb, self.pi_ub) if self.settings.model == "random"
                        else (p.ci_lb, p.ci_ub))
        return {"pred": float(f(p.estimate)), "ci_lb": float(f(p.ci_lb)),
                "ci_ub": float(f(p.ci_ub)), "pi_lb": float(f(pi_lb)),
                "pi_ub": float(f(pi_ub)), "pi_method": self.pi_description}

    @property
    def pi_description(self) -> str:
        """How the prediction interval was computed."""
        if self.settings.model != "random":
            return "none (common-effect model: tau² = 0, the interval is the CI)"
        if self.settings.pi == "t":
            return "t distribution with k - 2 df and the Wald SE (Higgins et al. 2009)"
        if self.settings.ci == "z":
            return "standard normal (metafor)"
        return "t distribution with k - 1 df (Hartung-Knapp, metafor)"

    @property
    def methods_text(self) -> str:
        """One sentence for a methods section."""
        s = self.settings
        name = MEASURE_NAMES.get(self.measure, self.measure)
        model = "random-effects" if s.model == "random" else "common-effect"
        pooling = {"inverse": "inverse variance"}.get(s.method, METHODS[s.method])
        text = f"{name}s were pooled with a {model} model ({pooling}"
        if s.model == "random":
            if s.method != "inverse" and s.tau2_method == "DL":
                text += "; DerSimonian-Laird tau² from the Mantel-Haenszel heterogeneity statistic"
            else:
                text += f"; tau² by {METHOD_NAMES.get(s.tau2_method, s.tau2_method)}"
            text += f"; {CI_NAMES[s.ci]} confidence intervals"
        text += f"). metakit {_version()}."
        return text

    def _row_labels(self):
        ratio = self.is_ratio
        crit = special.ndtri(1 - (1 - self.settings.level) / 2)
        se = np.sqrt(self.vi)
        lb, ub = self.yi - crit * se, self.yi + crit * se
        if ratio:
            return np.exp(self.yi), np.exp(lb), np.exp(ub)
        return self.yi, lb, ub

    def to_frame(self) -> pd.DataFrame:
        """One row per study and one per summary model, on the reporting scale.

        Columns: study, estimate, ci_lb, ci_ub, weight_common, weight_random (percent),
        yi, vi (analysis scale).
        """
        est, lb, ub = self._row_labels()
        rows = pd.DataFrame({"study": list(self.study), "estimate": est, "ci_lb": lb,
                             "ci_ub": ub, "weight_common": self.common.weights,
                             "weight_random": self.random.weights, "yi": self.yi, "vi": self.vi})
        tot = []
        for p in (self.common, self.random):
            tot.append({"study": f"Total ({p.model})", "estimate": float(self.transform(p.estimate)),
                        "ci_lb": float(self.transform(p.ci_lb)),
                        "ci_ub": float(self.transform(p.ci_ub)),
                        "weight_common": 100.0 if p.model == "common" else np.nan,
                        "weight_random": 100.0 if p.model == "random" else np.nan,
                        "yi": p.estimate, "vi": p.se ** 2})
        return pd.concat([rows, pd.DataFrame(tot)], ignore_index=True)

    def to_dict(self) -> dict:
        """Everything as plain Python values (JSON-serialisable)."""
        def pooled(p: Pooled) -> dict:
            return {"estimate": p.estimate, "se": p.se, "ci_lb": p.ci_lb, "ci_ub": p.ci_ub,
                    "stat": p.stat, "stat_name": p.stat_name,
                    "df": None if math.isnan(p.df) else p.df, "pval": p.pval,
                    "weights": p.weights.tolist()}
        ci = self._confint
        s = self.settings
        return {
            "measure": self.measure, "k": self.k, "study": list(self.study),
            "yi": self.yi.tolist(), "vi": self.vi.tolist(),
            "model": s.model, "method": METHODS[s.method],
            "tau2_method": s.tau2_method if s.model == "random" else None,
            "ci_method": s.ci, "pi_method": self.pi_description, "level": s.level,
            "convention": s.convention,
            "continuity_correction": getattr(self.effects, "methods", {}).get("text"),
            "common": pooled(self.common), "random": pooled(self.random),
            "heterogeneity": self.heterogeneity.to_dict(),
            "heterogeneity_ci": None if ci is None else ci.to_dict(),
            "heterogeneity_ci_test_based": (None if self.heterogeneity.df < 1
                                            else self.confint("test-based").to_dict()),
            "se_tau2": None if math.isnan(self.se_tau2) else self.se_tau2,
            "mh_tests": (self.mh_tests().to_dict()
                         if s.method == "MH" and s.measure == "OR" else None),
            "prediction_interval": [self.pi_lb, self.pi_ub],
            "back_transformed": self.predict() if self.is_ratio else None,
            "notes": list(self.notes), "software": f"metakit {_version()}",
        }

    def heterogeneity_line(self) -> str:
        """RevMan's heterogeneity line, e.g. ``Heterogeneity: Tau² = 0.31; Chi² = ...``."""
        h = self.heterogeneity
        if self.k < 2:
            return "Heterogeneity: Not applicable"
        # I² is Q-based for common-effect fits and under RevMan's convention (fit_rows)
        i2 = h.I2
        tau = f"Tau² = {fmt_num(self.tau2)}; " if self.settings.model == "random" else ""
        return (f"Heterogeneity: {tau}Chi² = {fmt_num(h.Q)}, df = {h.df} (P {fmt_p(h.pval)}); "
                f"I² = {fmt_pct(i2)}")

    def overall_line(self) -> str:
        """RevMan's test line, e.g. ``Test for overall effect: Z = 3.97 (P < 0.0001)``."""
        p = self.pooled
        if p.stat_name == "t":
            return (f"Test for overall effect: t = {fmt_num(abs(p.stat))}, df = {p.df:.0f} "
                    f"(P {fmt_p(p.pval)})")
        return f"Test for overall effect: Z = {fmt_num(abs(p.stat))} (P {fmt_p(p.pval)})"

    def _arm_columns(self) -> tuple[list[str], list[list[str]], list[str]]:
        """RevMan's per-arm columns: (headers, cells per study, cells of the total row)."""
        arms = getattr(self.effects, "arms", None)
        layout = getattr(self.effects, "arm_columns", None)
        if layout is None or len(arms) != self.k:
            return [], [[] for _ in range(self.k)], []
        cols = layout[0] + layout[1]
        heads = {"e1": "Events", "m1": "Mean", "sd1": "SD", "n1": "Total"}
        heads = [heads[c] for c in layout[0]] * 2
        cells = [[f"{row[c]:g}" for c in cols] for _, row in arms.iterrows()]
        blank = [""] * (len(layout[0]) - 1)
        total = blank + [f"{arms['n1'].sum():g}"] + blank + [f"{arms['n2'].sum():g}"]
        return heads, cells, total

    def summary(self) -> str:
        """A RevMan-style text summary: studies with arm data, total, heterogeneity, tests."""
        s = self.settings
        name = MEASURE_NAMES.get(self.measure, self.measure)
        abbrev = {"inverse": "IV", "MH": "M-H", "Peto": "Peto"}[s.method]
        est, lb, ub = self._row_labels()
        heads, cells, total = self._arm_columns()
        width = max([len("Study or Subgroup"), len("Total (95% CI)")] + [len(x) for x in self.study])
        cw = max([len(h) for h in heads] + [len(c) for row in cells for c in row]
                 + [len(c) for c in total] + [1])
        model = "Random" if s.model == "random" else "Fixed"
        effect_head = f"{abbrev}, {model}, {int(round(s.level * 100))}% CI"

        def row(label, arm_cells, weight, effect):
            arm = "".join(f"  {c:>{cw}}" for c in arm_cells)
            return f"{label:<{width}}{arm}  {weight:>7}  {effect}"

        lines = []
        if heads:
            half = len(heads) // 2
            span = half * (cw + 2)
            lines.append(f"{'':<{width}}{'Experimental':>{span}}{'Control':>{span}}"
                         f"  {'':>7}  {name}")
        else:
            lines.append(f"{'':<{width}}  {'':>7}  {name}")
        lines.append(row("Study or Subgroup", heads, "Weight", effect_head))
        for lab, arm, e, lo, hi, wt in zip(self.study, cells, est, lb, ub, self.weights):
            lines.append(row(lab, arm, fmt_weight(wt), fmt_ci(e, lo, hi)))
        p = self.pooled
        tot = fmt_ci(float(self.transform(p.estimate)), float(self.transform(p.ci_lb)),
                     float(self.transform(p.ci_ub)))
        lines.append(row(f"Total ({int(round(s.level * 100))}% CI)", total, "100.0%", tot))
        arms = getattr(self.effects, "arms", None)
        if heads and heads[0] == "Events":
            lines.append(row("Total events", [f"{arms['e1'].sum():g}", "",
                                              f"{arms['e2'].sum():g}", ""], "", "").rstrip())
        lines.append(self.heterogeneity_line())
        lines.append(self.overall_line())
        if s.model == "random" and self.k >= 2 and math.isfinite(self.pi_lb):
            lines.append(f"Prediction interval: [{fmt_num(float(self.transform(self.pi_lb)))}, "
                         f"{fmt_num(float(self.transform(self.pi_ub)))}] ({self.pi_description})")
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _version() -> str:
    from metakit.version import __version__
    return __version__


def resolve_settings(es, model, method, tau2, ci, pi, level, convention, tol, maxiter,
                      fallback) -> Settings:
    if convention not in ("metafor", "revman"):
        raise ValueError(f"convention must be 'metafor' or 'revman', got {convention!r}")
    if model not in ("random", "common"):
        raise ValueError(f"model must be 'random' or 'common', got {model!r}")
    measure = es.measure
    binary = measure in ("OR", "RR", "RD")
    if method is None:
        method = "MH" if convention == "revman" and binary else "inverse"
    aliases = {"iv": "inverse", "inverse": "inverse", "mh": "MH", "peto": "Peto"}
    if method.lower() not in aliases:
        raise ValueError(f"method must be 'inverse', 'MH' or 'Peto', got {method!r}")
    method = aliases[method.lower()]
    if method == "MH" and not binary:
        raise ValueError(f"Mantel-Haenszel pools OR, RR or RD, not {measure}")
    if method == "Peto" and measure not in ("OR", "PETO"):
        raise ValueError(f"Peto's method pools odds ratios, not {measure}")
    if tau2 is None:
        tau2 = "DL" if convention == "revman" else "REML"
    if pi is None:
        pi = "t" if convention == "revman" else "z"
    if ci not in CI_NAMES:
        raise ValueError(f"ci must be one of {', '.join(CI_NAMES)}, got {ci!r}")
    FitSettings(model=model, tau2_method=tau2, ci=ci, pi=pi, level=level, tol=tol,
                maxiter=maxiter, fallback=fallback)
    return Settings(measure=measure, model=model, method=method, tau2_method=tau2, ci=ci, pi=pi,
                    level=level, convention=convention, tol=tol, maxiter=maxiter,
                    fallback=fallback)


def fit_one(es, s: Settings, notes=()) -> MetaResult:
    """Fit one meta-analysis with resolved settings (used by :func:`meta` and subgroups)."""
    k = len(es.yi)
    if k == 0:
        raise DataError("no studies to pool (k = 0)", column="yi")
    yi, vi, arms = rows_for_fit(es, s)
    notes = list(notes)
    if k == 1:
        msg = (f"only one study ({es.study[0]}): the summary is that study's own estimate; "
               "heterogeneity and tau² are not estimable (tau² set to 0)")
        warnings.warn(msg, MetakitWarning, stacklevel=3)
        notes.append("Note: " + msg)
    if s.ci == "hk" and k > 1 and np.ptp(yi) == 0:
        # Identical estimates make the Hartung-Knapp scale factor QE/(k - 1) zero: a CI of
        # zero width and p = 0 (metafor) are artefacts, so the documented rule is the ad hoc
        # correction (scale factor at least 1; Knapp & Hartung 2003).
        msg = ("all estimates are identical, so the Hartung-Knapp scale factor is 0; "
               "the ad hoc correction (scale factor at least 1) is used instead")
        warnings.warn(msg, MetakitWarning, stacklevel=3)
        notes.append("Note: " + msg)
        s = replace(s, ci="hk-adhoc")
    arms2 = None if arms is None else {key: val[None, :] for key, val in arms.items()}
    out = fit_rows(yi[None, :], vi[None, :], None, arms2, s)
    return result_from_row(es, s, out, 0, None, yi, vi, notes)
