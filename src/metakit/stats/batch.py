"""The batched inverse-variance engine: many meta-analyses in one call.

``meta(yi, vi, mask)`` fits every row of ``(..., k)`` arrays at once; the friendly
single-fit API (:func:`metakit.meta`) calls the same kernel with a batch of one.

Pooling (inverse variance; Borenstein et al. 2010, Res Synth Methods 1:97): with
w = 1/(v + tau²), mu = sum(w y)/sum(w), SE = 1/sqrt(sum w), Wald z tests and CIs.
Hartung-Knapp (Hartung & Knapp 2001, Stat Med 20:3875; Sidik & Jonkman 2002) scales
the variance by q = sum w (y - mu)² / (k - 1) and uses t(k - 1); metafor does not
truncate q, and the ad hoc variant (Knapp & Hartung 2003; Röver et al. 2015,
BMC Med Res Methodol 15:99) uses max(q, 1). Prediction intervals:
mu ± crit sqrt(SE² + tau²), with crit from z (metafor; t(k - 1) under Hartung-Knapp)
or t(k - 2) (Higgins, Thompson & Spiegelhalter 2009, JRSS A 172:137; RevMan, meta).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from metakit.stats.heterogeneity import cochran_q, i2_h2
from metakit.stats.moments import Batch, every, make_batch, maximum, stats, where
from metakit.stats.tau2 import resolve

CI_METHODS = ("z", "hk", "hk-adhoc")


@lru_cache(maxsize=32)
def z_crit(level: float) -> float:
    """The two-sided standard normal critical value for a confidence level."""
    return float(special.ndtri(1.0 - (1.0 - level) / 2))
PI_METHODS = ("z", "t")


def pool(b: Batch, tau2, ci: str = "z", level: float = 0.95, st=None) -> dict:
    """Inverse-variance pooling at given tau² for each meta-analysis of a batch.

    Returns a dict of floats (a single meta-analysis) or ``(n,)`` arrays: estimate, se,
    ci_lb, ci_ub, stat, pval and df (NaN for z). ``st`` may pass the
    :class:`~metakit.stats.moments.Stats` at this tau² if already computed.
    """
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    st = stats(b, tau2) if st is None else st
    est = st.mu + (b.center[0] if b.scalar else b.center)
    se = (1.0 / st.sw) ** 0.5
    crit = z_crit(level)
    if ci == "z":
        stat = est / se
        return {"estimate": est, "se": se, "ci_lb": est - crit * se, "ci_ub": est + crit * se,
                "stat": stat, "pval": 2.0 * special.ndtr(-abs(stat)),
                "df": float("nan") if b.scalar else np.full(b.n, np.nan), "se_wald": se}
    # Hartung-Knapp needs residual df; with k = 1 the Wald z test is used (as metafor).
    se_wald = se
    df = b.k - b.p
    hk = df > 0
    dfs = where(hk, df, float("nan"))
    with np.errstate(invalid="ignore", divide="ignore"):
        q = where(st.Q <= np.finfo(float).eps, 0.0, st.Q / dfs)
        if ci == "hk-adhoc":
            q = maximum(q, 1.0)
        se = where(hk, se * np.sqrt(q), se)
        stat = est / se
    crit = where(hk, special.stdtrit(dfs, 1.0 - (1.0 - level) / 2), crit)
    pval = where(hk, 2.0 * special.stdtr(dfs, -abs(stat)), 2.0 * special.ndtr(-abs(stat)))
    return {"estimate": est, "se": se, "ci_lb": est - crit * se, "ci_ub": est + crit * se,
            "stat": stat, "pval": pval, "df": dfs, "se_wald": se_wald}


def prediction_interval(est, se, tau2, k, ci: str, pi: str, level: float = 0.95,
                        se_wald=None):
    """Prediction interval bounds for a new study's true effect.

    ``pi="t"`` follows Higgins et al. (2009): t(k-2) with the usual (not Hartung-Knapp
    scaled) standard error ``se_wald``, as R's meta does; ``pi="z"`` follows metafor:
    the CI's own standard error, with z, or t(k-1) under Hartung-Knapp.
    """
    if pi not in PI_METHODS:
        raise ValueError(f"pi must be one of {PI_METHODS}, got {pi!r}")
    q = 1.0 - (1.0 - level) / 2
    if pi == "t":
        crit = special.stdtrit(where(k > 2, k - 2, float("nan")), q)
        se = se if se_wald is None else se_wald
    elif ci == "z":
        crit = z_crit(level)
    else:
        crit = special.stdtrit(where(k > 1, k - 1, float("nan")), q)
    half = crit * (se * se + tau2) ** 0.5
    return est - half, est + half


def fit_kernel(b: Batch, *, random: bool, tau2_method: str, ci: str, pi: str, level: float,
               tol: float, maxiter: int, fallback: str | None, tau2_fixed=None) -> dict:
    """Fit every meta-analysis of a batch; the one code path of all IV fits."""
    zero = 0.0 if b.scalar else np.zeros(b.n)
    st0 = stats(b, zero)
    converged = True if b.scalar else np.ones(b.n, dtype=bool)
    if not random:
        t2, conv = zero, converged
    elif tau2_fixed is not None:
        t2, conv = tau2_fixed, converged
    else:
        t2, conv, _, _ = resolve(b, tau2_method, tol, maxiter, fallback, st0)
    out = pool(b, t2, ci, level, st=None if random else st0)
    Q, df, pQ, s2 = cochran_q(b, st0)
    i2, h2 = i2_h2(Q, df, s2, t2, random)
    out.update(tau2=t2, Q=Q, Q_df=df, Q_p=pQ, s2=s2, I2=i2, H2=h2, k=b.k, converged=conv)
    if random:
        out["pi_lb"], out["pi_ub"] = prediction_interval(out["estimate"], out["se"], t2, b.k,
                                                         ci, pi, level, out["se_wald"])
    else:
        nan = float("nan") if b.scalar else np.full(b.n, np.nan)
        out["pi_lb"] = out["pi_ub"] = nan
    return out


CHUNK = 1024


def _fit_chunked(yi, vi, mask, **settings) -> tuple[dict, tuple[int, ...]]:
    """Run :func:`fit_kernel` over blocks of meta-analyses sorted by k.

    Blocks of a couple of thousand meta-analyses keep the working arrays in cache, and
    sorting by k lets each block drop the padding beyond its own largest k (when the
    studies of every row are left-aligned, as ragged data usually are). Returns the
    merged per-meta-analysis results and the batch shape.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape or y.ndim == 0:
        b = make_batch(y, v, mask)         # raises the shape error
    shape, width = y.shape[:-1], y.shape[-1]
    y2, v2 = y.reshape(-1, width), v.reshape(-1, width)
    n = y2.shape[0]
    if n <= CHUNK:
        b = make_batch(y2, v2, mask if mask is None else
                       np.broadcast_to(np.asarray(mask, bool), y.shape).reshape(-1, width))
        _check_k(b)
        return fit_kernel(b, **settings), shape
    if mask is None:
        m2 = None
        order = np.arange(n)
        k = np.full(n, width)
        aligned = True
    else:
        m2 = np.broadcast_to(np.asarray(mask, bool), y.shape).reshape(-1, width)
        k = m2.sum(axis=-1)
        aligned = bool((m2 == (np.arange(width)[None, :] < k[:, None])).all())
        order = np.argsort(k, kind="stable")
    merged: dict = {}
    for start in range(0, n, CHUNK):
        rows = order[start:start + CHUNK]
        kmax = max(int(k[rows].max()), 1) if aligned else width
        b = make_batch(y2[rows, :kmax], v2[rows, :kmax], None if m2 is None else m2[rows, :kmax])
        _check_k(b)
        out = fit_kernel(b, **settings)
        for name, val in out.items():
            val = np.asarray(val)
            if name not in merged:
                merged[name] = np.empty(n, dtype=val.dtype)
            merged[name][rows] = val
    return merged, shape


def _check_k(b: Batch) -> None:
    if not every(np.asarray(b.k) >= 1):
        raise ValueError("every meta-analysis needs at least one study (k = 0 found)")


@dataclass(frozen=True)
class BatchMeta:
    """Results of many meta-analyses, one array entry per meta-analysis.

    Every array has the batch shape of the input (all axes but the last).
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    Q: np.ndarray
    Q_df: np.ndarray
    Q_p: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    k: np.ndarray
    converged: np.ndarray
    model: str
    tau2_method: str | None
    ci_method: str
    pi_method: str
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis (the batch flattened in C order)."""
        cols = {f.name: np.ravel(getattr(self, f.name)) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}
        return pd.DataFrame(cols)

    def to_dict(self) -> dict:
        """Arrays as nested lists, and the settings."""
        return {f.name: (v.tolist() if isinstance(v := getattr(self, f.name), np.ndarray) else v)
                for f in fields(self)}

    def summary(self) -> str:
        """A short description of the batch."""
        n = self.estimate.size
        t2 = f", tau² by {self.tau2_method}" if self.model == "random" else ""
        bad = int((~self.converged).sum())
        conv = f"; {bad} did not converge" if bad else ""
        return (f"{n} {self.model}-effects meta-analyses (k from {int(self.k.min())} to "
                f"{int(self.k.max())}){t2}, CI by {self.ci_method}{conv}")


def meta(yi, vi, mask=None, *, model: str = "random", tau2: str = "REML", ci: str = "z",
         pi: str = "z", level: float = 0.95, tol: float = 1e-10, maxiter: int = 200,
         fallback: str | None = None) -> BatchMeta:
    """Fit many inverse-variance meta-analyses at once.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances shaped ``(..., k)``.
    mask
        True where a study is present (ragged ``k``); cells outside the mask are ignored.
    model
        ``"random"`` or ``"common"``.
    tau2
        tau² estimator (see :mod:`metakit.stats.tau2`).
    ci
        ``"z"`` (Wald), ``"hk"`` (Hartung-Knapp) or ``"hk-adhoc"``.
    pi
        Prediction interval critical value: ``"z"`` (metafor) or ``"t"`` (t(k-2), Higgins 2009).
    level
        Confidence level.
    tol, maxiter, fallback
        Passed to :func:`metakit.stats.tau2.estimate_tau2`.

    Returns
    -------
    BatchMeta

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> y = rng.normal(0.3, 0.4, size=(1000, 12)); v = rng.uniform(0.02, 0.2, size=(1000, 12))
    >>> res = meta(y, v, tau2="REML")
    >>> res.estimate.shape
    (1000,)
    """
    if model not in ("random", "common"):
        raise ValueError(f"model must be 'random' or 'common', got {model!r}")
    out, shape = _fit_chunked(yi, vi, mask, random=model == "random", tau2_method=tau2, ci=ci,
                              pi=pi, level=level, tol=tol, maxiter=maxiter, fallback=fallback)
    arrays = {name: np.asarray(out[name], dtype=np.asarray(out[name]).dtype).reshape(shape)
              for name in
              ("estimate", "se", "ci_lb", "ci_ub", "stat", "pval", "df", "tau2", "Q", "Q_df",
               "Q_p", "I2", "H2", "pi_lb", "pi_ub", "k", "converged")}
    return BatchMeta(**arrays, model=model, tau2_method=tau2 if model == "random" else None,
                     ci_method=ci, pi_method=pi, level=level)
