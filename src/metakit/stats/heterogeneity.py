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

The test-based confidence interval of H, and of I² and H² through it (Higgins & Thompson
2002, appendix; the interval R's meta package prints beside I² and H), is a
normal interval for ln H from Q and its degrees of freedom alone: see
:func:`higgins_thompson_ci`.
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
    return np.where(np.isfinite(i2), i2, 0.0), np.where(np.isfinite(h2), h2, 1.0)


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


@dataclass(frozen=True)
class HigginsThompsonCI:
    """Test-based (Higgins & Thompson 2002) confidence intervals for H, H² and I².

    Each of ``H``, ``H2`` and ``I2`` (percent) is an ``(estimate, lower, upper)`` tuple of
    arrays with the shape of the ``Q`` and ``df`` passed (floats for scalars); ``se_log_h`` is
    the standard error of ln H. NaN where undefined (see :func:`higgins_thompson_ci`).
    """

    H: tuple
    H2: tuple
    I2: tuple
    se_log_h: np.ndarray
    level: float

    def to_dict(self) -> dict:
        """The intervals as plain Python values (NaN as None)."""
        def plain(x):
            x = np.asarray(x, dtype=float)
            return np.where(np.isnan(x), None, x).tolist()
        return {"H": [plain(v) for v in self.H], "H2": [plain(v) for v in self.H2],
                "I2": [plain(v) for v in self.I2], "se_log_h": plain(self.se_log_h),
                "level": self.level}

    def to_frame(self):
        """One row per quantity (H, H2, I2) and batch element (C order): quantity, estimate,
        ci_lb, ci_ub."""
        import pandas as pd

        parts = []
        for name in ("H", "H2", "I2"):
            est, lb, ub = (np.ravel(v) for v in getattr(self, name))
            parts.append(pd.DataFrame({"quantity": name, "estimate": est, "ci_lb": lb, "ci_ub": ub}))
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> str:
        """meta's lines, e.g. ``I² = 92.1% [88.3%; 94.7%]`` and ``H = 3.56 [2.93; 4.34]``."""
        lines = []
        for (i2, i2l, i2u), (h, hl, hu) in zip(zip(*(np.ravel(v) for v in self.I2)),
                                                zip(*(np.ravel(v) for v in self.H))):
            lines.append(f"I² = {i2:.1f}% [{i2l:.1f}%; {i2u:.1f}%]; H = {h:.2f} [{hl:.2f}; {hu:.2f}]")
        return "\n".join(lines)


def higgins_thompson_ci(Q, df, level: float = 0.95) -> HigginsThompsonCI:
    """Test-based confidence intervals for H, H² and I² from Cochran's Q (batched).

    Higgins & Thompson (2002), Stat Med 21:1539, appendix (intervals for H). With
    ``k = df + 1`` and ``H = sqrt(Q / df)``::

        SE(ln H) = (ln Q - ln df) / (2 (sqrt(2 Q) - sqrt(2 k - 3)))     if Q > k
        SE(ln H) = sqrt(1 / (2 (k - 2)) * (1 - 1 / (3 (k - 2)²)))       if Q <= k

    and the interval is ``exp(ln H ± z SE)``, ``z`` the normal quantile for ``level``. As R's
    meta package (``calcH``/``isquared``, 8.3-0): H and both bounds are truncated below at 1
    (so the estimate is ``max(1, H)`` and I² ``max(0, (Q - df)/Q)``), I² = (H² - 1)/H² of each
    bound (here in percent) and H² the square of the H values. Undefined (NaN): H and all
    bounds when ``df < 1``; the bounds when ``k = 2`` and ``Q <= 2`` (the second branch needs
    ``k > 2``). ``df`` is that of Q (k - 1, or the residual df of a meta-regression).

    Parameters
    ----------
    Q
        Cochran's Q statistic(s).
    df
        Its degrees of freedom, broadcastable with ``Q``.
    level
        Confidence level in (0, 1).

    Returns
    -------
    HigginsThompsonCI

    Examples
    --------
    dat.bcg, log risk ratio (meta 8.3: I² = 92.1% [88.3%; 94.7%], H = 3.56 [2.93; 4.34]):

    >>> ci = higgins_thompson_ci(152.2330080823734, 12)
    >>> [round(float(v), 1) for v in ci.I2], [round(float(v), 2) for v in ci.H]
    ([92.1, 88.3, 94.7], [3.56, 2.93, 4.34])
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), not {level!r}")
    Q, df = np.broadcast_arrays(np.asarray(Q, dtype=float), np.asarray(df, dtype=float))
    k = df + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(df >= 1, np.sqrt(Q / df), np.nan)
        above = (Q > k) & (k >= 2)
        se = np.where(above, 0.5 * (np.log(Q) - np.log(df)) / (np.sqrt(2 * Q) - np.sqrt(2 * k - 3)),
                      np.where(~(Q > k) & (k > 2),
                               np.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2))), np.nan))
        se = np.where(df >= 1, se, np.nan)
        z = special.ndtri(1 - (1 - level) / 2)
        log_h = np.log(np.maximum(h, 1.0))
        est = np.exp(log_h)
        lower = np.maximum(np.exp(log_h - z * se), 1.0)
        upper = np.maximum(np.exp(log_h + z * se), 1.0)

    def out(x):
        return float(x) if x.ndim == 0 else x

    hs = (est, lower, upper)
    return HigginsThompsonCI(
        H=tuple(out(v) for v in hs),
        H2=tuple(out(v**2) for v in hs),
        I2=tuple(out(100.0 * (v**2 - 1) / v**2) for v in hs),
        se_log_h=out(se),
        level=level,
    )
