"""The fit kernel: inverse-variance weighted least squares on a design matrix, batched.

Every model of the package is this one model, y_i = x_i'beta + u_i + e_i with
u_i ~ N(0, tau²) and e_i ~ N(0, v_i) (Raudenbush 2009, in The Handbook of Research
Synthesis, ch. 16; Viechtbauer 2005): an intercept-only X is the pairwise model, a block
of stratum indicators is a subgroup analysis with a common tau², moderators make a
meta-regression, and contrasts make a network. :func:`fit` estimates tau², then

- beta = (X'WX)^-1 X'Wy with W = diag(1/(v + tau²)), Var(beta) = (X'WX)^-1;
- Wald z tests and CIs, or Knapp & Hartung (2003, Stat Med 22:2693): Var(beta) scaled by
  s² = y'Py/(k - p) and t(k - p) (F(m, k - p) for the omnibus test); metafor does not
  truncate s², the ad hoc variant (Knapp & Hartung 2003; Röver et al. 2015) uses
  max(1, s²);
- QE = y'P0y with P at tau² = 0: the test for residual heterogeneity, chi²(k - p)
  (Cochran 1954; Hedges & Olkin 1985);
- QM = b'V^-1 b over the tested coefficients (by default every one but the intercept):
  chi²(m), or F(m, k - p) = QM/m under Knapp-Hartung;
- I² and H² from tau² and the typical within-study variance s² = (k - p)/tr(P0)
  (Higgins & Thompson 2002, Stat Med 21:1539, as metafor) for random-effects fits, and
  from QE for common-effect fits: I² = (QE - df)/QE, H² = QE/df.

The results are one :class:`Fit` of arrays with a leading batch axis; every result class
of the package is a view of one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.stats.heterogeneity import i2_h2
from metakit.stats.inference import Test, z_crit
from metakit.stats.moments import Batch, stats
from metakit.stats.tau2 import METHODS as TAU2_METHODS
from metakit.stats.tau2 import resolve, se_tau2

MODELS = ("random", "common")
# the omnibus test of a model with nothing to test (an intercept-only fit), shared read-only
_NAN = np.full(1, np.nan)
_NAN.setflags(write=False)
_NO_TEST = Test(_NAN, _NAN, _NAN, "chi2")
_EPS = float(np.finfo(float).eps)
_SQRT2 = math.sqrt(2.0)
CI_METHODS = ("z", "hk", "hk-adhoc")
PI_METHODS = ("z", "t")


@dataclass(frozen=True)
class Settings:
    """What a fit is asked to do, validated where it is made.

    Parameters
    ----------
    model
        ``"random"`` (tau² estimated) or ``"common"`` (tau² = 0).
    tau2_method
        tau² estimator (see :mod:`metakit.stats.tau2`).
    ci
        ``"z"`` (Wald), ``"hk"`` (Knapp-Hartung) or ``"hk-adhoc"``.
    pi
        Prediction interval critical value: ``"z"`` (metafor) or ``"t"`` (t(k - 2),
        Higgins, Thompson & Spiegelhalter 2009).
    level
        Confidence level, strictly between 0 and 1.
    tol, maxiter, fallback
        Controls of the iterative tau² estimators.

    Examples
    --------
    >>> Settings(tau2_method="DL").level
    0.95
    >>> Settings(level=95)
    Traceback (most recent call last):
    ...
    ValueError: level must be a probability strictly between 0 and 1 (0.95 for 95%), got 95
    """

    model: str = "random"
    tau2_method: str = "REML"
    ci: str = "z"
    pi: str = "z"
    level: float = 0.95
    tol: float = 1e-10
    maxiter: int = 200
    fallback: str | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be 'random' or 'common', got {self.model!r}")
        if self.tau2_method not in TAU2_METHODS:
            raise ValueError(f"unknown tau² estimator {self.tau2_method!r}; choose one of "
                             f"{', '.join(TAU2_METHODS)}")
        if self.ci not in CI_METHODS:
            raise ValueError(f"ci must be one of {', '.join(CI_METHODS)}, got {self.ci!r}")
        if self.pi not in PI_METHODS:
            raise ValueError(f"pi must be one of {', '.join(PI_METHODS)}, got {self.pi!r}")
        if not (isinstance(self.level, (int, float)) and 0.0 < self.level < 1.0):
            raise ValueError("level must be a probability strictly between 0 and 1 (0.95 for "
                             f"95%), got {self.level!r}")
        if not (self.tol > 0 and int(self.maxiter) >= 1):
            raise ValueError("tol must be > 0 and maxiter >= 1")
        if self.fallback is not None and (self.fallback not in TAU2_METHODS
                                          or self.fallback == self.tau2_method):
            raise ValueError(f"fallback must be another tau² estimator, got {self.fallback!r}")

    @property
    def random(self) -> bool:
        """True for a random-effects model."""
        return self.model == "random"


@dataclass(frozen=True)
class Fit:
    """Weighted least-squares fits of ``n`` meta-analyses (leading axis ``n``).

    Attributes
    ----------
    beta, se, stat, pval, ci_lb, ci_ub
        Coefficients and their tests, ``(n, p)``; ``stat`` is z, or t on ``df`` under
        Knapp-Hartung.
    vb
        Variance-covariance matrices of the coefficients ``(n, p, p)`` (Knapp-Hartung
        scaled where asked).
    df
        Degrees of freedom of the coefficient tests (NaN for z), ``(n,)``.
    tau2, se_tau2
        tau² (0 for a common-effect fit) and its standard error where the estimator has
        one (NaN otherwise), ``(n,)``.
    converged
        False where an iterative tau² estimator did not converge and no fallback was used.
    k, p
        Studies and coefficients per meta-analysis.
    QE, QM
        Residual heterogeneity and the omnibus test of the tested coefficients.
    I2, H2, s2
        I² (percent), H² and the typical within-study variance.
    s2_hk
        The Knapp-Hartung scale factor (1 for Wald tests).
    se_wald
        The coefficients' standard errors before Knapp-Hartung scaling, ``(n, p)`` (what
        Higgins et al.'s t(k - 2) prediction interval uses).
    settings
        The :class:`Settings` of the fit.
    btt
        Indices of the coefficients that QM tests.
    """

    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    converged: np.ndarray
    k: np.ndarray
    p: np.ndarray
    QE: Test
    QM: Test
    I2: np.ndarray
    H2: np.ndarray
    s2: np.ndarray
    s2_hk: np.ndarray
    settings: Settings
    btt: tuple[int, ...]
    se_wald: np.ndarray

    @property
    def n(self) -> int:
        """Number of meta-analyses."""
        return self.beta.shape[0]

    def crit(self) -> np.ndarray:
        """Critical values of the coefficient CIs (z, or t on ``df``), ``(n,)``."""
        q = 1.0 - (1.0 - self.settings.level) / 2
        if self.settings.ci == "z":
            return np.full(self.n, z_crit(self.settings.level))
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(self.df), z_crit(self.settings.level),
                            special.stdtrit(np.where(np.isnan(self.df), 1.0, self.df), q))

    def predict(self, x0: np.ndarray) -> dict:
        """Predictions at moderator rows ``x0`` ``(m, p)`` for every meta-analysis.

        Returns arrays ``(n, m)``: ``pred``, ``se``, ``ci_lb``, ``ci_ub``, ``pi_lb``,
        ``pi_ub``. The prediction interval for a new study's true effect is
        pred ± crit sqrt(se² + tau²) (Riley, Higgins & Deeks 2011, BMJ 342:d549), with the
        coefficients' critical value (z, or t(k - p) under Knapp-Hartung, as metafor).
        """
        x0 = np.atleast_2d(np.asarray(x0, dtype=float))
        pred = self.beta @ x0.T
        var = np.einsum("mi,nij,mj->nm", x0, self.vb, x0)
        se = np.sqrt(var)
        crit = self.crit()[:, None]
        half = crit * se
        pi_half = crit * np.sqrt(var + self.tau2[:, None])
        return {"pred": pred, "se": se, "ci_lb": pred - half, "ci_ub": pred + half,
                "pi_lb": pred - pi_half, "pi_ub": pred + pi_half}


def _as_array(x, n: int, dtype=float) -> np.ndarray:
    return np.full(n, x, dtype=dtype) if np.ndim(x) == 0 else np.asarray(x, dtype=dtype)


def fit(b: Batch, settings: Settings, btt=None, tau2_fixed=None, st0=None) -> Fit:
    """Fit the model of a :class:`~metakit.stats.moments.Batch` (see module docstring).

    Parameters
    ----------
    b
        The data, with its design matrix (``b.X``; None is the intercept-only model).
    settings
        Model, tau² estimator, CI method and level.
    btt
        Indices of the coefficients that the omnibus test QM tests; default every
        coefficient but an intercept in column 0 (all of them without one, and the
        intercept of an intercept-only model with moderators given as a design, as
        metafor).
    tau2_fixed
        A given tau² (per meta-analysis) instead of estimating it.
    st0
        :func:`~metakit.stats.moments.stats` at tau² = 0, when the caller has them (a
        common- and a random-effects fit of the same data share them).

    Returns
    -------
    Fit

    Examples
    --------
    >>> import numpy as np
    >>> from metakit.stats.moments import make_batch
    >>> b = make_batch([[0.1, 0.3, 0.35, 0.6]], [[0.01, 0.02, 0.015, 0.03]],
    ...                X=np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0]]))
    >>> f = fit(b, Settings(model="common"))
    >>> f.beta.shape, f.QM.distribution
    ((1, 2), 'chi2')
    """
    if b.scalar and btt is None:
        return _fit_single(b, settings, tau2_fixed, st0)
    n = b.n
    zero = 0.0 if b.scalar else np.zeros(n)
    st0 = stats(b, zero) if st0 is None else st0
    if not settings.random:
        t2, conv = zero, True
    elif tau2_fixed is not None:
        t2, conv = tau2_fixed, True
    else:
        t2, conv, _, _ = resolve(b, settings.tau2_method, settings.tol, settings.maxiter,
                                 settings.fallback, st0)
    st = stats(b, t2) if settings.random else st0
    t2 = _as_array(t2, n)
    k, p = _as_array(b.k, n), _as_array(b.p, n)
    if b.X is None:
        beta = _as_array(st.mu, n)[:, None] + b.center[:, None]
        vb = _as_array(st.vb, n)[:, None, None]
    else:
        beta, vb = st.mu, st.vb
    dfr = k - p
    hk = settings.ci != "z"
    se_wald = np.sqrt(np.diagonal(vb, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        if hk:
            # with no residual df the Wald test is used (as metafor)
            q = np.where(dfr > 0, _as_array(st.Q, n) / np.where(dfr > 0, dfr, 1.0), 1.0)
            q = np.where(q <= np.finfo(float).eps, 0.0, q)
            if settings.ci == "hk-adhoc":
                q = np.maximum(q, 1.0)
            vb = vb * q[:, None, None]
            df = np.where(dfr > 0, dfr, np.nan)
        else:
            q = np.ones(n)
            df = np.full(n, np.nan)
        se = np.sqrt(np.diagonal(vb, axis1=-2, axis2=-1))
        stat = beta / se
    tdist = ~np.isnan(df)
    dfc = np.where(tdist, df, 1.0)[:, None]
    pval = np.where(tdist[:, None], 2.0 * special.stdtr(dfc, -np.abs(stat)),
                    2.0 * special.ndtr(-np.abs(stat)))
    fit_ = Fit(beta=beta, vb=vb, se=se, stat=stat, pval=pval, ci_lb=beta, ci_ub=beta, df=df,
               tau2=t2, se_tau2=np.full(n, np.nan), converged=_as_array(conv, n, bool),
               k=k, p=p, QE=None, QM=None, I2=None, H2=None, s2=None, s2_hk=q,
               settings=settings, btt=(), se_wald=se_wald)
    crit = fit_.crit()[:, None]
    QE, s2, i2, h2 = _heterogeneity(st0, dfr, t2, settings.random, n)
    btt = _default_btt(b) if btt is None else tuple(int(i) for i in btt)
    QM = omnibus(beta, vb, btt, df) if btt else Test(np.full(n, np.nan), np.full(n, np.nan),
                                                      np.full(n, np.nan), "chi2")
    se_t2 = (se_tau2(b, settings.tau2_method, t2, st, st0) if settings.random and tau2_fixed is None
             else np.full(n, np.nan))
    return Fit(beta=beta, vb=vb, se=se, stat=stat, pval=pval, ci_lb=beta - crit * se,
               ci_ub=beta + crit * se, df=df, tau2=t2, se_tau2=_as_array(se_t2, n),
               converged=_as_array(conv, n, bool), k=k, p=p, QE=QE, QM=QM, I2=i2, H2=h2,
               s2=s2, s2_hk=q, settings=settings, btt=btt, se_wald=se_wald)


def _fit_single(b: Batch, settings: Settings, tau2_fixed=None, st0=None) -> Fit:
    """:func:`fit` for one intercept-only meta-analysis, in Python floats.

    The same formulas as the batched path (the moments are floats for a scalar batch);
    numpy's per-call overhead dominates tiny arrays, so the numbers are computed as
    floats and put in the arrays of a :class:`Fit` at the end.
    """
    st0 = stats(b, 0.0) if st0 is None else st0
    conv = True
    if not settings.random:
        t2 = 0.0
    elif tau2_fixed is not None:
        t2 = float(np.asarray(tau2_fixed).reshape(-1)[0])
    else:
        t2, conv, _, _ = resolve(b, settings.tau2_method, settings.tol, settings.maxiter,
                                 settings.fallback, st0)
        t2, conv = float(t2), bool(conv)
    st = stats(b, t2) if settings.random else st0
    k, p = b.k, b.p
    dfr = k - p
    beta = st.mu + float(b.center[0])
    vb = st.vb
    se_wald = math.sqrt(vb)
    q, df = 1.0, math.nan
    if settings.ci != "z" and dfr > 0:
        # with no residual df the Wald test is used (as metafor)
        q = st.Q / dfr
        q = 0.0 if q <= _EPS else q
        if settings.ci == "hk-adhoc":
            q = max(q, 1.0)
        vb, df = vb * q, dfr
    se = math.sqrt(vb)
    stat = beta / se if se > 0 else (math.copysign(math.inf, beta) if beta else math.nan)
    level = 1.0 - (1.0 - settings.level) / 2
    if math.isnan(df):
        pval = math.erfc(abs(stat) / _SQRT2)     # 2 Phi(-|z|)
        crit = z_crit(settings.level)
    else:
        pval = float(special.stdtr(df, -abs(stat))) * 2.0
        crit = float(special.stdtrit(df, level))
    Q0 = max(st0.Q, 0.0) if dfr > 0 else 0.0
    pQ = float(special.chdtrc(dfr, Q0)) if dfr > 0 else 1.0
    s2 = dfr / st0.trP if dfr > 0 else 0.0
    i2, h2 = i2_h2(Q0, dfr, s2, t2, settings.random)
    se_t2 = (_se_tau2_single(b, settings.tau2_method, t2, st, st0)
             if settings.random and tau2_fixed is None and dfr > 0 else math.nan)
    # every number in one array, handed out as views: one allocation instead of twenty
    v = np.array([beta, se, stat, pval, beta - crit * se, beta + crit * se, se_wald, vb,
                  df, t2, se_t2, k, p, Q0, max(dfr, 0.0), pQ, i2, h2, s2, q])
    m = v[:, None]
    return Fit(beta=m[0:1], se=m[1:2], stat=m[2:3], pval=m[3:4], ci_lb=m[4:5], ci_ub=m[5:6],
               se_wald=m[6:7], vb=v[7:8].reshape(1, 1, 1), df=v[8:9], tau2=v[9:10],
               se_tau2=v[10:11], converged=np.array([conv]), k=v[11:12], p=v[12:13],
               QE=Test(v[13:14], v[14:15], v[15:16], "chi2"), QM=_NO_TEST, I2=v[16:17],
               H2=v[17:18], s2=v[18:19], s2_hk=v[19:20], settings=settings, btt=())


def _se_tau2_single(b: Batch, method: str, t2: float, st, st0) -> float:
    """:func:`~metakit.stats.tau2.se_tau2` in floats for the common estimators."""
    k, df = b.k, b.k - b.p
    if method == "REML":
        return math.sqrt(2.0 / st.trPP)
    if method == "ML":
        return math.sqrt(2.0 / st.sw2)
    if method == "DL":
        return math.sqrt(2.0 * df + 4.0 * t2 * st0.trP + 2.0 * t2 * t2 * st0.trPP) / st0.trP
    if method in ("PM", "EB", "PMM"):
        return math.sqrt(2.0 * k * k / df) / st.sw
    return float(se_tau2(b, method, t2, st, st0)[0])


def _default_btt(b: Batch) -> tuple[int, ...]:
    if b.X is None:
        return ()
    X = b.X
    present = b.Z[..., 0] > 0
    first_is_one = bool(np.all(np.where(present, X[..., 0] == 1.0, True)))
    start = 1 if first_is_one and X.shape[-1] > 1 else 0
    return tuple(range(start, X.shape[-1]))


def _heterogeneity(st0, dfr, t2, random: bool, n: int):
    """QE, the typical within-study variance, I² and H² (see the module docstring)."""
    Qraw = _as_array(st0.Q, n)
    trP = _as_array(st0.trP, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = dfr > 0
        QE = np.where(ok, np.maximum(Qraw, 0.0), 0.0)
        pQ = np.where(ok, special.chdtrc(np.where(ok, dfr, 1.0), QE), 1.0)
        s2 = np.where(ok, dfr / trP, 0.0)
    i2, h2 = i2_h2(QE, dfr, s2, t2, random)
    test = Test(statistic=QE, df=np.where(ok, dfr, 0.0), pval=pQ, distribution="chi2")
    return test, s2, i2, h2


def omnibus(beta: np.ndarray, vb: np.ndarray, btt, df) -> Test:
    """Wald test that the coefficients ``btt`` are all 0, for every meta-analysis.

    QM = b'V^-1 b over those coefficients: chi²(m) when ``df`` is NaN (Wald z), else
    F(m, df) with statistic QM/m (Knapp-Hartung).
    """
    idx = np.asarray(btt, dtype=int)
    bb = beta[:, idx]
    V = vb[:, idx][:, :, idx]
    qm = np.einsum("ni,ni->n", bb, np.linalg.solve(V, bb[..., None])[..., 0])
    m = float(idx.size)
    df = np.asarray(df, dtype=float)
    if np.all(np.isnan(df)):
        return Test(statistic=qm, df=np.full(bb.shape[0], m), pval=special.chdtrc(m, qm),
                    distribution="chi2")
    F = qm / m
    return Test(statistic=F, df=(np.full(bb.shape[0], m), df), pval=special.fdtrc(m, df, F),
                distribution="F")
