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

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import special

from metakit.stats.inference import Test, z_crit
from metakit.stats.kernel import Fit, Settings, fit
from metakit.stats.moments import Batch, every, make_batch


def prediction_interval(f: Fit):
    """Prediction interval bounds of intercept-only fits, ``(n,)`` arrays.

    ``pi="t"`` follows Higgins et al. (2009): t(k - 2) with the usual (not
    Hartung-Knapp scaled) standard error, as R's meta does; ``pi="z"`` follows metafor:
    the CI's own standard error, with z, or t(k - 1) under Hartung-Knapp.
    """
    s = f.settings
    if not s.random:
        nan = np.full(f.n, np.nan)
        return nan, nan
    if f.n == 1:
        lb, ub = _prediction_interval_single(f)
        return np.array([lb]), np.array([ub])
    est, se = f.beta[:, 0], f.se[:, 0]
    q = 1.0 - (1.0 - s.level) / 2
    k = f.k
    if s.pi == "t":
        crit = special.stdtrit(np.where(k > 2, k - 2, np.nan), q)
        se = f.se_wald[:, 0]
    else:
        crit = f.crit()
    half = crit * np.sqrt(se * se + f.tau2)
    return est - half, est + half


def _prediction_interval_single(f: Fit) -> tuple[float, float]:
    """:func:`prediction_interval` of one fit, in floats (the same rules)."""
    s = f.settings
    est, se, k = float(f.beta[0, 0]), float(f.se[0, 0]), float(f.k[0])
    q = 1.0 - (1.0 - s.level) / 2
    if s.pi == "t":
        crit = float(special.stdtrit(k - 2, q)) if k > 2 else math.nan
        se = float(f.se_wald[0, 0])
    else:
        df = float(f.df[0])
        crit = z_crit(s.level) if math.isnan(df) else float(special.stdtrit(df, q))
    half = crit * math.sqrt(se * se + float(f.tau2[0]))
    return est - half, est + half


def fit_kernel(b: Batch, settings: Settings) -> dict:
    """Fit every meta-analysis of an intercept-only batch; per-meta-analysis arrays."""
    f = fit(b, settings)
    pi_lb, pi_ub = prediction_interval(f)
    return {"estimate": f.beta[:, 0], "se": f.se[:, 0], "ci_lb": f.ci_lb[:, 0],
            "ci_ub": f.ci_ub[:, 0], "stat": f.stat[:, 0], "pval": f.pval[:, 0], "df": f.df,
            "tau2": f.tau2, "se_tau2": f.se_tau2, "Q": f.QE.statistic, "Q_df": f.QE.df,
            "Q_pval": f.QE.pval, "I2": f.I2, "H2": f.H2, "pi_lb": pi_lb, "pi_ub": pi_ub,
            "k": f.k, "converged": f.converged}


CHUNK = 2048


def _fit_chunked(yi, vi, mask, settings: Settings) -> tuple[dict, tuple[int, ...]]:
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
        return fit_kernel(b, settings), shape
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
    # the rows are sorted once, blocks are contiguous slices of the sorted arrays, and the
    # results are put back in place once at the end
    if m2 is None:
        ys, vs, ks, ms = y2, v2, k, None
    else:
        ys, vs, ks, ms = y2[order], v2[order], k[order], m2[order]
    merged: dict = {}
    for start in range(0, n, CHUNK):
        rows = slice(start, start + CHUNK)
        kmax = max(int(ks[rows].max()), 1) if aligned else width
        b = make_batch(ys[rows, :kmax], vs[rows, :kmax], None if ms is None else ms[rows, :kmax])
        _check_k(b)
        out = fit_kernel(b, settings)
        for name, val in out.items():
            val = np.asarray(val)
            if name not in merged:
                merged[name] = np.empty(n, dtype=val.dtype)
            merged[name][start:start + val.shape[0]] = val
    if m2 is None:
        return merged, shape
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.arange(n)
    return {name: val[inverse] for name, val in merged.items()}, shape


def _check_k(b: Batch) -> None:
    if not every(np.asarray(b.k) >= 1):
        raise ValueError("every meta-analysis needs at least one study (k = 0 found)")


@dataclass(frozen=True)
class BatchMeta:
    """Results of many meta-analyses, one array entry per meta-analysis.

    Every array has the batch shape of the input (all axes but the last). ``Q`` is the
    test for heterogeneity (statistic, df and pval arrays).
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    Q: Test
    I2: np.ndarray
    H2: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    k: np.ndarray
    converged: np.ndarray
    settings: Settings

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis (the batch flattened in C order)."""
        cols = {f.name: np.ravel(getattr(self, f.name)) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}
        cols["Q"] = np.ravel(self.Q.statistic)
        cols["Q_df"] = np.ravel(self.Q.df)
        cols["Q_pval"] = np.ravel(self.Q.pval)
        order = [f.name for f in fields(self) if f.name in cols] + ["Q_df", "Q_pval"]
        return pd.DataFrame({name: cols[name] for name in order})

    def to_dict(self) -> dict:
        """Arrays as nested lists, and the settings."""
        out = {f.name: getattr(self, f.name).tolist() for f in fields(self)
               if isinstance(getattr(self, f.name), np.ndarray)}
        out["Q"] = self.Q.to_dict()
        s = self.settings
        out.update(model=s.model, tau2_method=s.tau2_method if s.random else None,
                   ci_method=s.ci, pi_method=s.pi, level=s.level)
        return out

    def summary(self) -> str:
        """A short description of the batch."""
        s = self.settings
        n = self.estimate.size
        t2 = f", tau² by {s.tau2_method}" if s.random else ""
        bad = int((~self.converged).sum())
        conv = f"; {bad} did not converge" if bad else ""
        return (f"{n} {s.model}-effects meta-analyses (k from {int(self.k.min())} to "
                f"{int(self.k.max())}){t2}, CI by {s.ci}{conv}")


def meta(yi, vi, mask=None, *, model: str = "random", tau2_method: str = "REML", ci: str = "z",
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
    tau2_method
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
    >>> res = meta(y, v, tau2_method="REML")
    >>> res.estimate.shape
    (1000,)
    """
    settings = Settings(model=model, tau2_method=tau2_method, ci=ci, pi=pi, level=level, tol=tol,
                        maxiter=maxiter, fallback=fallback)
    out, shape = _fit_chunked(yi, vi, mask, settings)

    def shaped(name):
        val = np.asarray(out[name])
        return val.reshape(shape)

    arrays = {name: shaped(name) for name in
              ("estimate", "se", "ci_lb", "ci_ub", "stat", "pval", "df", "tau2", "se_tau2",
               "I2", "H2", "pi_lb", "pi_ub", "k", "converged")}
    Q = Test(statistic=shaped("Q"), df=shaped("Q_df"), pval=shaped("Q_pval"), distribution="chi2")
    return BatchMeta(**arrays, Q=Q, settings=settings)
