"""Heterogeneity: Cochran's Q, I², H², tau, and Q-profile confidence intervals.

Q is Cochran's (1954) statistic with inverse-variance weights 1/v, on k - p degrees
of freedom. I² and H² follow Higgins & Thompson (2002), Stat Med 21:1539. For a
common-effect model they come from Q: I² = (Q - df)/Q, H² = Q/df. For a random-effects
model they come from tau² and the "typical" within-study variance
s² = (k - p)/tr(P) (Higgins & Thompson 2002, eq. 9; as metafor): I² = tau²/(tau² + s²),
H² = (tau² + s²)/s². With the DerSimonian-Laird tau² the two definitions agree.

The Q-profile confidence interval for tau² (Viechtbauer 2007, Stat Med 26:37) inverts
the generalised Q statistic, which is chi²(k - p) at the true tau²: the bounds solve
Q(tau²) = chi²_{1-alpha/2} and chi²_{alpha/2}; a bound whose equation has no
non-negative solution is set to 0. The CIs for tau, I² and H² transform those bounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from metakit.stats.moments import Batch
from metakit.stats.tau2 import solve_generalised_q


@dataclass(frozen=True)
class Heterogeneity:
    """Heterogeneity statistics of one meta-analysis.

    Attributes
    ----------
    Q, df, pval
        Cochran's Q, its degrees of freedom and chi² p-value.
    I2, H2
        I² (percent) and H² for the fitted model (see the module docstring).
    tau2, tau
        Between-study variance and standard deviation (0 for a common-effect model).
    s2
        The typical within-study variance used for I² and H².
    """

    Q: float
    df: int
    pval: float
    I2: float
    H2: float
    tau2: float
    tau: float
    s2: float

    def to_dict(self) -> dict:
        """The statistics as a plain dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class HeterogeneityCI:
    """Q-profile confidence intervals for tau², tau, I² (percent) and H².

    Each attribute is an ``(estimate, lower, upper)`` tuple.
    """

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    I2: tuple[float, float, float]
    H2: tuple[float, float, float]
    level: float

    def to_dict(self) -> dict:
        """The intervals as a plain dictionary."""
        return asdict(self)


def i2_h2(Q, df, s2, tau2, random: bool):
    """I² (percent) and H² for a common-effect (from Q) or random-effects model (from tau²)."""
    if isinstance(Q, float):
        if df <= 0:
            return 0.0, 1.0
        if random:
            return 100.0 * tau2 / (s2 + tau2), 1.0 + tau2 / s2
        return (max(0.0, 100.0 * (Q - df) / Q) if Q > 0 else 0.0), Q / df
    with np.errstate(invalid="ignore", divide="ignore"):
        if random:
            i2 = np.where(df > 0, 100.0 * tau2 / (s2 + tau2), 0.0)
            h2 = np.where(df > 0, 1.0 + tau2 / s2, 1.0)
        else:
            i2 = np.where((df > 0) & (Q > 0), np.maximum(0.0, 100.0 * (Q - df) / Q), 0.0)
            h2 = np.where(df > 0, Q / np.maximum(df, 1), 1.0)
    return np.nan_to_num(i2), np.where(np.isfinite(h2), h2, 1.0)


def q_profile(b: Batch, level: float = 0.95, tol: float = 1e-10, maxiter: int = 500):
    """Q-profile bounds for tau² per meta-analysis: arrays ``(lower, upper)``.

    NaN where there are no residual degrees of freedom.
    """
    df = b.k - b.p
    alpha = 1.0 - level
    dfs = np.maximum(df, 1)
    q_hi = special.chdtri(dfs, alpha / 2)       # upper chi² quantile -> lower tau² bound
    q_lo = special.chdtri(dfs, 1 - alpha / 2)   # lower chi² quantile -> upper tau² bound
    lower, _, _ = solve_generalised_q(b, q_hi, tol, maxiter)
    upper, _, _ = solve_generalised_q(b, q_lo, tol, maxiter)
    if b.scalar:
        return (float("nan"), float("nan")) if df <= 0 else (float(lower), float(upper))
    none = df <= 0
    return np.where(none, np.nan, lower), np.where(none, np.nan, upper)


def transform_ci(tau2, lower, upper, s2, level) -> HeterogeneityCI:
    """Build a :class:`HeterogeneityCI` from tau² bounds (scalars)."""
    def i2(t):
        return 100.0 * t / (s2 + t) if s2 + t > 0 else 0.0

    def h2(t):
        return 1.0 + t / s2 if s2 > 0 else 1.0

    return HeterogeneityCI(
        tau2=(float(tau2), float(lower), float(upper)),
        tau=(float(np.sqrt(tau2)), float(np.sqrt(lower)), float(np.sqrt(upper))),
        I2=(float(i2(tau2)), float(i2(lower)), float(i2(upper))),
        H2=(float(h2(tau2)), float(h2(lower)), float(h2(upper))),
        level=level,
    )
