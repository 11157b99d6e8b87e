"""Small-study effects: funnel asymmetry tests, trim-and-fill and fail-safe N.

Each function returns a frozen record with the :class:`~metakit.stats.inference.Test` of
the method and its details (``summary``, ``to_frame``, ``to_dict``). Values follow
metafor 3.8.1 (Viechtbauer 2010, J Stat Softw 36(3)):

- :func:`regtest`: Egger's regression test (Egger et al. 1997, BMJ 315:629) and its
  variants (Sterne & Egger 2005, in Publication Bias in Meta-Analysis, ch. 6): the
  meta-regression ``y = b0 + b1 x`` with x the standard error (``sei``), variance
  (``vi``), sample size (``ni``), 1/n (``ninv``), sqrt(n) (``sqrtni``) or 1/sqrt(n)
  (``sqrtninv``), fitted as the model of the analysis (``model="rma"``) or as weighted
  least squares with a multiplicative dispersion (``model="lm"``, weights 1/v, t on
  k - 2 df: the classic Egger test for ``sei``); the test is of b1, and b0 is the
  limit estimate (the effect of a study of infinite size) for the predictors that vanish
  there;
- :func:`ranktest`: Begg & Mazumdar's (1994, Biometrics 50:1088) rank correlation,
  Kendall's tau between the standardised deviates (y_i - b)/sqrt(v_i - Var(b)) of the
  common-effect model and v_i, exact or by the normal approximation (R's ``cor.test``);
- :func:`peters`: Peters et al. (2006, JAMA 295:676): weighted regression of the log odds
  ratio on 1/N with weights 1/(1/(events) + 1/(non-events));
- :func:`harbord`: Harbord, Egger & Sterne (2006, Stat Med 25:3443): the score Z and its
  variance V of each 2x2 table, ordinary least squares of Z/sqrt(V) on sqrt(V), the
  intercept tested;
- :func:`trimfill`: Duval & Tweedie (2000, Biometrics 56:455; J Am Stat Assoc 95:89),
  estimators L0, R0 and Q0, iterated on the trimmed data; the side is metafor's rule:
  the slope of the model's regression on sqrt(v) negative -> studies missing on the
  right, else on the left;
- :func:`fsn`: fail-safe N of Rosenthal (1979, Psychol Bull 86:638), Orwin (1983,
  J Educ Stat 8:157) and Rosenberg (2005, Evolution 59:464).

Tests for funnel asymmetry have low power with few studies: below 10 studies each of
them warns (Cochrane Handbook for Systematic Reviews of Interventions, section 10.4.3.1).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from metakit.errors import MetakitWarning
from metakit.stats.inference import Test, z_crit
from metakit.stats.kernel import Fit, Settings, fit
from metakit.stats.moments import make_batch

__all__ = ["BiasTest", "RankTest", "TrimFill", "FailSafeN", "regtest", "ranktest", "peters",
           "harbord", "trimfill", "fsn", "MIN_STUDIES", "PREDICTORS"]

#: Fewer studies than this: asymmetry tests are underpowered (Cochrane Handbook 10.4.3.1).
MIN_STUDIES = 10
PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
#: predictors that are 0 for a study of infinite size: the intercept is the limit estimate
_LIMIT = ("sei", "vi", "ninv", "sqrtninv")


def _warn_few(k: int, what: str) -> None:
    if k < MIN_STUDIES:
        warnings.warn(f"{what} with {k} studies: tests for funnel plot asymmetry are "
                      f"underpowered with fewer than {MIN_STUDIES} studies (Cochrane Handbook "
                      "10.4.3.1)", MetakitWarning, stacklevel=3)


def _arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    if yi.shape != vi.shape:
        raise ValueError(f"yi has {yi.size} values but vi has {vi.size}")
    if yi.size < 3:
        raise ValueError(f"a small-study test needs at least 3 studies, got {yi.size}")
    return yi, vi


def _fit_design(yi, vi, X, settings: Settings, btt) -> Fit:
    return fit(make_batch(yi[None, :], vi[None, :], X=X[None]), settings, btt=btt)


@dataclass(frozen=True)
class BiasTest:
    """A regression test for funnel asymmetry (Egger's and its relatives).

    Attributes
    ----------
    test
        The test of the tested coefficient (z, or t on ``df``).
    method
        ``"regtest"``, ``"peters"`` or ``"harbord"``.
    model, predictor
        For ``regtest``: ``"rma"`` or ``"lm"`` and the predictor.
    names, beta, se
        The regression's coefficients (intercept first).
    estimate, ci_lb, ci_ub
        The limit estimate (the intercept, when the predictor vanishes for an infinitely
        large study; NaN otherwise, and for Harbord's test, whose intercept is the test).
    tau2, sigma
        Residual tau² (``rma``) and the residual standard error (least-squares fits).
    k
        Number of studies.
    """

    test: Test
    method: str
    model: str
    predictor: str
    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    estimate: float
    ci_lb: float
    ci_ub: float
    tau2: float
    sigma: float
    k: int

    @property
    def pval(self) -> float:
        """p-value of the test."""
        return float(self.test.pval)

    def to_frame(self) -> pd.DataFrame:
        """The regression's coefficients: name, estimate, se."""
        return pd.DataFrame({"term": list(self.names), "estimate": self.beta, "se": self.se})

    def to_dict(self) -> dict:
        """Plain values."""
        return {"method": self.method, "model": self.model, "predictor": self.predictor,
                "test": self.test.to_dict(), "names": list(self.names),
                "beta": self.beta.tolist(), "se": self.se.tolist(),
                "estimate": _none(self.estimate), "ci_lb": _none(self.ci_lb),
                "ci_ub": _none(self.ci_ub), "tau2": _none(self.tau2), "sigma": _none(self.sigma),
                "k": self.k}

    def summary(self) -> str:
        """The test in one line, then the limit estimate where there is one."""
        line = f"{self.test.name}: {_line(self.test)}"
        if not math.isnan(self.estimate):
            line += (f"\n  limit estimate (b0): {self.estimate:.4f} "
                     f"[{self.ci_lb:.4f}, {self.ci_ub:.4f}]")
        return line


def _line(test: Test) -> str:
    """``z = -0.80, p = 0.42`` or ``t = 12.67, df = 8, p = 1.4e-06``."""
    df = "" if test.distribution == "z" else f", df = {float(test.df):g}"
    return f"{test.distribution} = {float(test.statistic):.4f}{df}, p = {float(test.pval):.4g}"


def _none(x: float):
    return None if x is None or math.isnan(x) else float(x)


def _predictor(predictor: str, vi: np.ndarray, ni) -> np.ndarray:
    if predictor not in PREDICTORS:
        raise ValueError(f"predictor must be one of {', '.join(PREDICTORS)}, got {predictor!r}")
    if predictor == "sei":
        return np.sqrt(vi)
    if predictor == "vi":
        return vi
    if ni is None:
        raise ValueError(f"predictor {predictor!r} needs the studies' sample sizes (ni)")
    n = np.asarray(ni, dtype=float).ravel()
    if n.shape != vi.shape or not np.all(np.isfinite(n) & (n > 0)):
        raise ValueError("ni must give a positive sample size for every study")
    return {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[
        predictor]


def _regression(yi, vi, x, settings: Settings, tested: int, method: str, model: str,
                predictor: str, names, limit: bool, design=None) -> BiasTest:
    X = np.column_stack([np.ones(yi.size) if design is None else design, x])
    f = _fit_design(yi, vi, X, settings, (tested,))
    t = "z" if settings.ci == "z" else "t"
    df = float(f.df[0]) if t == "t" else math.nan
    test = Test(statistic=float(f.stat[0, tested]), df=df, pval=float(f.pval[0, tested]),
                distribution=t, name=_TEST_NAMES[method])
    nan = math.nan
    lm = model == "lm" or method in ("peters", "harbord")
    return BiasTest(
        test=test, method=method, model=model, predictor=predictor, names=tuple(names),
        beta=f.beta[0].copy(), se=f.se[0].copy(),
        estimate=float(f.beta[0, 0]) if limit else nan,
        ci_lb=float(f.ci_lb[0, 0]) if limit else nan,
        ci_ub=float(f.ci_ub[0, 0]) if limit else nan,
        tau2=nan if lm else float(f.tau2[0]),
        sigma=math.sqrt(float(f.s2_hk[0])) if lm else nan, k=int(yi.size))


_TEST_NAMES = {"regtest": "Regression test for funnel plot asymmetry",
               "peters": "Peters' test", "harbord": "Harbord's test"}


def _lm_settings(level: float) -> Settings:
    # weighted least squares with a multiplicative dispersion: the common-effect fit
    # with the Knapp-Hartung scale (s² = residual weighted SS / (k - p)) and t(k - p)
    return Settings(model="common", ci="hk", level=level)


def regtest(yi, vi, settings: Settings | None = None, *, model: str = "rma",
            predictor: str = "sei", ni=None, X=None, names=None) -> BiasTest:
    """Regression test for funnel plot asymmetry (metafor's ``regtest()``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    settings
        Kernel settings of the analysis (used by ``model="rma"``; default REML, Wald z).
    model
        ``"rma"``: the analysis' model with the predictor as moderator; ``"lm"``:
        weighted least squares (weights 1/vi), t on k - 2 df (Egger et al. 1997).
    predictor
        ``"sei"`` (default), ``"vi"``, ``"ni"``, ``"ninv"``, ``"sqrtni"``, ``"sqrtninv"``.
    ni
        Sample sizes, for the sample-size predictors.
    X, names
        A meta-regression's design matrix (intercept included) and its coefficient
        names: the predictor is added to these moderators and its coefficient tested, as
        metafor's ``regtest()`` on a model with moderators (no limit estimate then).

    Examples
    --------
    >>> y = [0.9, 0.7, 0.55, 0.4, 0.35, 0.3, 0.32, 0.28, 0.25, 0.22]
    >>> v = [0.25, 0.16, 0.1, 0.06, 0.04, 0.03, 0.02, 0.015, 0.01, 0.008]
    >>> r = regtest(y, v, model="lm")
    >>> r.test.distribution, r.test.df, round(r.test.statistic, 4)  # metafor: t = 12.67216
    ('t', 8.0, 12.6722)
    """
    yi, vi = _arrays(yi, vi)
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be 'rma' or 'lm', got {model!r}")
    settings = settings or Settings()
    x = _predictor(predictor, vi, ni)
    _warn_few(yi.size, "Regression test for funnel plot asymmetry")
    s = settings if model == "rma" else _lm_settings(settings.level)
    if X is None:
        return _regression(yi, vi, x, s, 1, "regtest", model, predictor, ("intrcpt", predictor),
                           predictor in _LIMIT)
    X = np.asarray(X, dtype=float)
    names = tuple(names) if names is not None else tuple(f"X{i}" for i in range(X.shape[1]))
    return _regression(yi, vi, x, s, X.shape[1], "regtest", model, predictor,
                       (*names, predictor), False, design=X)


def peters(yi, e1, n1, e2, n2, level: float = 0.95) -> BiasTest:
    """Peters' test: log odds ratio on 1/N, weights 1/(1/events + 1/non-events).

    Parameters
    ----------
    yi
        Log odds ratios (with the usual 1/2 added to tables with a zero cell).
    e1, n1, e2, n2
        Events and totals per arm.

    Examples
    --------
    >>> r = peters([0.1, 0.3, 0.5, 0.8, 1.0], [10, 8, 6, 4, 3], [100, 80, 60, 40, 30],
    ...            [9, 6, 4, 2, 1], [100, 80, 60, 40, 30])
    >>> r.names
    ('intrcpt', '1/N')
    """
    e1, n1, e2, n2 = (np.asarray(a, dtype=float).ravel() for a in (e1, n1, e2, n2))
    yi = np.asarray(yi, dtype=float).ravel()
    N = n1 + n2
    events = e1 + e2
    v = 1.0 / events + 1.0 / (N - events)
    _arrays(yi, v)
    _warn_few(yi.size, "Peters' test")
    return _regression(yi, v, 1.0 / N, _lm_settings(level), 1, "peters", "lm", "ninv",
                       ("intrcpt", "1/N"), True)


def harbord(e1, n1, e2, n2, level: float = 0.95) -> BiasTest:
    """Harbord's test for binary outcomes: Z/sqrt(V) on sqrt(V), the intercept tested.

    Z = a - n1 m1/N (observed minus expected events in arm 1) and V = n1 n2 m1 m2 /
    (N²(N - 1)) its hypergeometric variance (m1, m2: events, non-events).

    Examples
    --------
    >>> r = harbord([10, 8, 6, 4, 3], [100, 80, 60, 40, 30], [9, 6, 4, 2, 1],
    ...             [100, 80, 60, 40, 30])
    >>> r.test.distribution, r.test.df
    ('t', 3.0)
    """
    a, n1, c, n2 = (np.asarray(x, dtype=float).ravel() for x in (e1, n1, e2, n2))
    N = n1 + n2
    m1 = a + c
    m2 = N - m1
    Z = a - n1 * m1 / N
    V = n1 * n2 * m1 * m2 / (N * N * (N - 1.0))
    if np.any(V <= 0):
        bad = int(np.flatnonzero(V <= 0)[0])
        raise ValueError(f"Harbord's test needs V > 0 for every table; table {bad + 1} has "
                         "no events or only events")
    sv = np.sqrt(V)
    _arrays(Z / sv, V)
    _warn_few(a.size, "Harbord's test")
    return _regression(Z / sv, np.ones_like(V), sv, _lm_settings(level), 0, "harbord", "lm",
                       "sqrtV", ("intrcpt", "sqrt(V)"), False)


@dataclass(frozen=True)
class RankTest:
    """Begg & Mazumdar's rank correlation test (metafor's ``ranktest()``).

    ``test.statistic`` is Kendall's tau; ``exact`` says whether the exact null
    distribution was used (it is not when there are ties, as R's ``cor.test``).
    """

    test: Test
    tau: float
    exact: bool
    k: int

    @property
    def pval(self) -> float:
        """p-value of the test."""
        return float(self.test.pval)

    def to_frame(self) -> pd.DataFrame:
        """One row: tau, pval, exact, k."""
        return pd.DataFrame([{"tau": self.tau, "pval": self.pval, "exact": self.exact,
                              "k": self.k}])

    def to_dict(self) -> dict:
        """Plain values."""
        return {"test": self.test.to_dict(), "tau": self.tau, "exact": self.exact, "k": self.k}

    def summary(self) -> str:
        """One line."""
        how = "exact" if self.exact else "normal approximation"
        return f"Rank correlation test: Kendall's tau = {self.tau:.4f}, p = {self.pval:.4g} ({how})"


def ranktest(yi, vi, exact: bool = True) -> RankTest:
    """Begg & Mazumdar's rank correlation test for funnel plot asymmetry.

    Examples
    --------
    >>> r = ranktest([0.9, 0.7, 0.55, 0.4, 0.35, 0.3], [0.25, 0.16, 0.1, 0.06, 0.04, 0.03])
    >>> round(r.tau, 4)
    1.0
    """
    yi, vi = _arrays(yi, vi)
    _warn_few(yi.size, "Rank correlation test")
    w = 1.0 / vi
    b = float(np.sum(w * yi) / np.sum(w))
    vb = 1.0 / float(np.sum(w))
    ystar = (yi - b) / np.sqrt(vi - vb)
    ties = np.unique(ystar).size < yi.size or np.unique(vi).size < vi.size
    use_exact = bool(exact and not ties and yi.size < 50)
    res = stats.kendalltau(ystar, vi, method="exact" if use_exact else "asymptotic")
    tau = float(res.statistic)
    test = Test(statistic=tau, df=math.nan, pval=float(res.pvalue), distribution="Kendall",
                name="Rank correlation test")
    return RankTest(test=test, tau=tau, exact=use_exact, k=int(yi.size))


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill: the estimated missing studies and the model on the filled data.

    Attributes
    ----------
    estimator, side
        ``"L0"``, ``"R0"`` or ``"Q0"``, and the side on which studies were imputed.
    k0, se_k0, p_k0
        Estimated number of missing studies, its standard error, and (R0) the p-value
        of the test that none is missing.
    study, yi, vi, filled
        The observed studies then the imputed ones (``filled`` True for those).
    fit
        The kernel's fit to the filled data.
    test
        The test of the filled model's estimate.
    """

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    study: tuple[str, ...]
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    filled: np.ndarray = field(repr=False)
    fit: Fit = field(repr=False)
    test: Test = field(repr=False)

    @property
    def estimate(self) -> float:
        """Summary estimate of the filled data."""
        return float(self.fit.beta[0, 0])

    @property
    def ci_lb(self) -> float:
        """Its lower confidence bound."""
        return float(self.fit.ci_lb[0, 0])

    @property
    def ci_ub(self) -> float:
        """Its upper confidence bound."""
        return float(self.fit.ci_ub[0, 0])

    @property
    def imputed(self) -> dict:
        """The imputed studies' ``yi`` and ``vi`` (the funnel plot's ``filled=``)."""
        return {"yi": self.yi[self.filled], "vi": self.vi[self.filled]}

    def to_frame(self) -> pd.DataFrame:
        """One row per study, observed then imputed: study, yi, vi, filled."""
        return pd.DataFrame({"study": list(self.study), "yi": self.yi, "vi": self.vi,
                             "filled": self.filled})

    def to_dict(self) -> dict:
        """Plain values."""
        f = self.fit
        return {"estimator": self.estimator, "side": self.side, "k0": self.k0,
                "se_k0": self.se_k0, "p_k0": _none(self.p_k0), "study": list(self.study),
                "yi": self.yi.tolist(), "vi": self.vi.tolist(), "filled": self.filled.tolist(),
                "estimate": self.estimate, "se": float(f.se[0, 0]), "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub, "tau2": float(f.tau2[0]), "test": self.test.to_dict(),
                "QE": f.QE.at(0).to_dict()}

    def summary(self) -> str:
        """k0 and the filled model's estimate."""
        p = "" if math.isnan(self.p_k0) else f", p = {self.p_k0:.4g}"
        studies = "study" if self.k0 == 1 else "studies"
        return (f"Trim-and-fill ({self.estimator}): {self.k0} {studies} imputed on the "
                f"{self.side} side (SE {self.se_k0:.4f}{p})\n  filled estimate "
                f"{self.estimate:.4f} [{self.ci_lb:.4f}, {self.ci_ub:.4f}], {_line(self.test)}")


def _single_fit(yi, vi, settings: Settings) -> Fit:
    return fit(make_batch(yi[None, :], vi[None, :], mask=np.ones((1, yi.size), bool)), settings)


def trimfill_side(yi, vi, settings: Settings) -> str:
    """metafor's side rule: the slope of the regression on sqrt(v) < 0 -> ``"right"``."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    X = np.column_stack([np.ones(yi.size), np.sqrt(vi)])
    slope = float(_fit_design(yi, vi, X, settings, (1,)).beta[0, 1])
    return "right" if slope < 0 else "left"


def trimfill(yi, vi, settings: Settings | None = None, *, estimator: str = "L0",
             side: str | None = None, study=None, maxiter: int = 100) -> TrimFill:
    """Duval & Tweedie's trim-and-fill (metafor's ``trimfill()``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    settings
        Kernel settings of the model (used for the side rule, the trimmed fits and the
        filled fit).
    estimator
        ``"L0"`` (default), ``"R0"`` or ``"Q0"``.
    side
        ``"left"`` or ``"right"``: where studies are missing; default metafor's rule
        (see :func:`trimfill_side`).

    Examples
    --------
    >>> y = [0.9, 0.7, 0.55, 0.4, 0.35, 0.3, 0.32, 0.28, 0.25, 0.22]
    >>> v = [0.25, 0.16, 0.1, 0.06, 0.04, 0.03, 0.02, 0.015, 0.01, 0.008]
    >>> tf = trimfill(y, v, Settings(model="common"))
    >>> tf.side, tf.k0, round(tf.estimate, 4)  # metafor: left 5 0.2591111
    ('left', 5, 0.2591)
    """
    yi, vi = _arrays(yi, vi)
    if estimator not in ("L0", "R0", "Q0"):
        raise ValueError(f"estimator must be L0, R0 or Q0, got {estimator!r}")
    settings = settings or Settings()
    k = yi.size
    labels = tuple(str(s) for s in study) if study is not None else \
        tuple(str(i + 1) for i in range(k))
    _warn_few(k, "Trim-and-fill")
    if side is None:
        side = trimfill_side(yi, vi, settings)
    elif side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    sign = -1.0 if side == "right" else 1.0
    idx = np.argsort(sign * yi, kind="stable")
    ys, vs = sign * yi[idx], vi[idx]
    k0, k0_prev, it = 0, -1, 0
    se_k0 = math.nan
    beta = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ValueError("trim-and-fill did not converge")
        beta = float(_single_fit(ys[:k - k0], vs[:k - k0], settings).beta[0, 0])
        c = ys - beta
        rank = np.empty(k)
        rank[np.argsort(np.abs(c), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(c) * rank
        k0f, se_k0 = _k0(estimator, signed, k)
        if not math.isfinite(k0f):
            raise ValueError(f"the {estimator} estimator is not defined for these data "
                             f"(k0 = {k0f})")
        k0 = max(0, _round_half_even(k0f))
        # NaN (a negative variance of Sr) stays NaN, as R's max(0, NaN)
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 > 0:
        fy = sign * (2.0 * beta - ys[k - k0:])
        y_all = np.concatenate([yi, fy])
        v_all = np.concatenate([vi, vs[k - k0:]])
        labels = labels + tuple(f"Filled {j + 1}" for j in range(k0))
    else:
        y_all, v_all = yi, vi
    filled = np.arange(y_all.size) >= k
    f = _single_fit(y_all, v_all, settings)
    test = Test(statistic=float(f.stat[0, 0]), df=float(f.df[0]) if settings.ci != "z" else
                math.nan, pval=float(f.pval[0, 0]), distribution="z" if settings.ci == "z" else "t",
                name="Filled estimate")
    return TrimFill(estimator=estimator, side=side, k0=int(k0), se_k0=float(se_k0),
                    p_k0=float(p_k0), study=labels, yi=y_all, vi=v_all, filled=filled, fit=f,
                    test=test)


def _round_half_even(x: float) -> int:
    # R's round() rounds halves to even (IEC 60559), as Python's round()
    return int(round(x))


def _k0(estimator: str, signed: np.ndarray, k: int) -> tuple[float, float]:
    """The estimators of Duval & Tweedie (2000) from the signed ranks."""
    if estimator == "R0":
        neg = -signed[signed < 0]
        if neg.size == 0:
            return math.inf, math.nan
        k0 = (k - float(neg.max())) - 1.0
        return k0, math.sqrt(2.0 * max(0.0, k0) + 2.0)
    Sr = float(signed[signed > 0].sum())
    if estimator == "L0":
        k0 = (4.0 * Sr - k * (k + 1)) / (2.0 * k - 1.0)
    else:
        disc = 2.0 * k * k - 4.0 * Sr + 0.25
        if disc < 0:
            return math.nan, math.nan
        k0 = k - 0.5 - math.sqrt(disc)
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0 ** 3 + 27 * k0 ** 2 + 17 * k0
              - 18 * k * k0 ** 2 - 18 * k * k0 + 6 * k * k * k0) / 24.0
    if estimator == "L0":
        return k0, 4.0 * math.sqrt(var_sr) / (2.0 * k - 1.0) if var_sr >= 0 else math.nan
    den = (k - 0.5) ** 2 - k0 * (2 * k - k0 - 1)
    return k0, (2.0 * math.sqrt(var_sr) / math.sqrt(den) if var_sr >= 0 and den > 0
                else math.nan)


@dataclass(frozen=True)
class FailSafeN:
    """Fail-safe N (metafor's ``fsn()``).

    ``fsnum`` is the number of studies with null results (Rosenthal, Rosenberg) or with
    mean effect ``target`` (Orwin: effect 0 studies needed to bring the unweighted mean
    down to ``target``) that would have to be added; ``fsnum_unrounded`` before rounding
    up. ``test`` is the test of the observed combined effect (Stouffer's z for Rosenthal,
    the common-effect z for Rosenberg; none for Orwin).
    """

    type: str
    fsnum: float
    fsnum_unrounded: float
    alpha: float
    pval: float
    meanes: float
    target: float
    k: int
    test: Test | None

    def to_frame(self) -> pd.DataFrame:
        """One row of the values."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "test"}])

    def to_dict(self) -> dict:
        """Plain values."""
        return {"type": self.type, "fsnum": self.fsnum, "fsnum_unrounded": self.fsnum_unrounded,
                "alpha": self.alpha, "pval": _none(self.pval), "meanes": _none(self.meanes),
                "target": _none(self.target), "k": self.k,
                "test": None if self.test is None else self.test.to_dict()}

    def summary(self) -> str:
        """One line."""
        n = "inf" if math.isinf(self.fsnum) else f"{self.fsnum:.0f}"
        extra = (f", target {self.target:.4f}" if self.type == "Orwin"
                 else f", alpha {self.alpha:g}, p = {self.pval:.4g}")
        return f"Fail-safe N ({self.type}): {n}{extra}"


def _ceil(x: float) -> float:
    # an integer up to rounding error stays that integer (metafor 3.8.1)
    if math.isinf(x):
        return x
    return float(math.ceil(x - math.sqrt(np.finfo(float).eps)))


def fsn(yi, vi, type: str = "Rosenthal", alpha: float = 0.05, target: float | None = None) -> FailSafeN:
    """Fail-safe N of Rosenthal, Orwin or Rosenberg (metafor's ``fsn()``).

    - Rosenthal (1979): N = k (z / z_(1-alpha))² - k with z = sum(y_i/sqrt(v_i))/sqrt(k)
      (Stouffer's combined z, one-sided alpha);
    - Orwin (1983): N = k (mean(y) - target)/target, target default mean(y)/2 (the
      unweighted mean, metafor 3.8.1); infinite when target is 0 or of the other sign;
    - Rosenberg (2005): N = k ((sum w_i y_i / z_(1-alpha/2))² - sum w_i) / sum w_i, the
      number of null studies of average weight that make the common-effect z test
      non-significant at two-sided alpha.

    Examples
    --------
    >>> r = fsn([0.5, 0.4, 0.6], [0.04, 0.04, 0.04], type="Orwin", target=0.1)
    >>> r.fsnum  # 3 (0.5 - 0.1) / 0.1
    12.0
    """
    yi, vi = np.asarray(yi, float).ravel(), np.asarray(vi, float).ravel()
    if yi.shape != vi.shape or yi.size < 1:
        raise ValueError("fsn needs yi and vi of the same, non-zero length")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    k = yi.size
    nan = math.nan
    if type == "Rosenthal":
        z_avg = abs(float(np.sum(yi / np.sqrt(vi))) / math.sqrt(k))
        pval = float(special.ndtr(-z_avg))
        raw = max(0.0, k * (z_avg / float(special.ndtri(1.0 - alpha))) ** 2 - k)
        test = Test(statistic=z_avg, df=nan, pval=pval, distribution="z",
                    name="Stouffer's combined test (one-sided)")
        return FailSafeN("Rosenthal", _ceil(raw), raw, alpha, pval, nan, nan, k, test)
    if type == "Orwin":
        meanes = float(np.mean(yi))
        tgt = meanes / 2.0 if target is None else float(target)
        if tgt == 0.0 or np.sign(tgt) != np.sign(meanes):
            raw = math.inf
        else:
            raw = max(0.0, k * (meanes - tgt) / tgt)
        return FailSafeN("Orwin", _ceil(raw), raw, alpha, nan, meanes, tgt, k, None)
    if type == "Rosenberg":
        w = 1.0 / vi
        sw = float(np.sum(w))
        meanes = float(np.sum(w * yi)) / sw
        zval = meanes * math.sqrt(sw)
        pval = float(2.0 * special.ndtr(-abs(zval)))
        wp = (float(np.sum(w * yi)) / z_crit(1.0 - alpha)) ** 2 - sw
        raw = max(0.0, k * wp / sw)
        test = Test(statistic=zval, df=nan, pval=pval, distribution="z",
                    name="Common-effect z test")
        return FailSafeN("Rosenberg", _ceil(raw), raw, alpha, pval, meanes, nan, k, test)
    raise ValueError(f"type must be 'Rosenthal', 'Orwin' or 'Rosenberg', got {type!r}")
