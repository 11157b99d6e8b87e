"""Array plumbing shared by the batched estimators.

Every estimator works on ``n`` meta-analyses of up to ``k`` studies each, held as
``(n, k)`` arrays with a mask for ragged ``k``, and optionally a design matrix ``X``
``(n, k, p)`` of moderators (meta-regression; strata, i.e. subgroups with their own mean
and a common tau², are the block design of stratum indicators).

Everything the estimators need is a function of tau² through W = diag(1/(v + tau²)) and
P = W - W X (X'WX)^-1 X'W (Viechtbauer 2005, J Educ Behav Stat 30:261): the weighted
residual sum of squares y'Py (Cochran's Q at tau² = 0), y'PPy, y'PPPy, tr(P) and tr(PP).
Without moderators (X = 1) they are short closed forms in weighted power sums
("moments") S_aj = sum_i w_i^a z_ij, a = 1, 2, 3, z = (1, y, y², v), so one fused pass
per tau² value gives all of them for every meta-analysis at once. With moderators they
come from batched p x p matrix algebra (:func:`_design_stats`).

For a batch of one (a single fit) the moments are returned as Python floats and the
same formulas run on floats, which avoids NumPy's per-call overhead on tiny arrays;
the code path is the same, only the number type differs.

Masked cells hold ``y = 0``, ``v = inf`` (so every weight there is 0) and zero rows in
the moment basis.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """Flattened, masked data of ``n`` meta-analyses.

    Attributes
    ----------
    y
        Estimates minus ``center`` (n, k); 0 where masked.
    v
        Sampling variances (n, k); inf where masked.
    Z
        Moment basis (n, k, 4): columns 1, y, y², v; 0 where masked.
    X
        Design matrix (n, k, p), 0 in masked rows, or None for the intercept-only model.
    center
        The unweighted mean subtracted from ``y`` for numerical stability (n,); 0 with
        a design matrix (which need not contain an intercept).
    k, p
        Studies and fixed parameters (non-empty design columns) per meta-analysis.
    shape
        The caller's batch shape, restored on output.
    scalar
        True for a single intercept-only meta-analysis: moments come back as floats.
    """

    y: np.ndarray
    v: np.ndarray
    Z: np.ndarray
    X: np.ndarray | None
    center: np.ndarray
    k: object
    p: object
    shape: tuple[int, ...]
    scalar: bool

    @property
    def n(self) -> int:
        """Number of meta-analyses."""
        return self.y.shape[0]

    def restore(self, a) -> np.ndarray:
        """Give a per-meta-analysis result the caller's batch shape."""
        return np.asarray(a, dtype=np.asarray(a).dtype).reshape(self.shape)


def make_batch(yi, vi, mask=None, strata=None, X=None) -> Batch:
    """Validate and flatten ``(..., k)`` arrays into a :class:`Batch`.

    Parameters
    ----------
    yi, vi
        Arrays of the same shape ``(..., k)``.
    mask
        Boolean array broadcastable to that shape; True where a study is present.
        Cells that are NaN must be masked out.
    strata
        Integer array ``(..., k)`` of stratum codes ``0..S-1`` (masked cells ignored):
        shorthand for the design of stratum indicators.
    X
        Design matrix ``(k, p)`` shared by every meta-analysis or ``(..., k, p)``; its
        rows for masked studies are ignored. Columns that are 0 for every present study
        of a meta-analysis (an empty stratum) do not count as parameters.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape:
        raise ValueError(f"yi has shape {y.shape} but vi has shape {v.shape}")
    if y.ndim == 0:
        raise ValueError("yi must have at least one dimension (the studies)")
    shape = y.shape[:-1]
    kk = y.shape[-1]
    y2 = y.reshape(-1, kk)
    v2 = v.reshape(-1, kk)
    if mask is None and strata is None and X is None and y2.shape[0] == 1:
        return _single(y2, v2, shape)
    design = strata is not None or X is not None
    if mask is None:
        # one pass each: a non-finite value or overflow makes the sum non-finite
        if not (np.isfinite(y2.sum()) and np.isfinite(v2.sum())) or v2.min() <= 0:
            _bad_cell(y2, v2, None)
        k = np.full(y2.shape[0], float(kk))
        center = np.zeros(y2.shape[0]) if design else y2.sum(axis=-1) / kk
        yc = y2 - center[:, None]
        vv = v2
        m2 = None
    else:
        m2 = np.broadcast_to(np.asarray(mask, dtype=bool), y.shape).reshape(-1, kk)
        if (m2 & ~(np.isfinite(y2) & np.isfinite(v2))).any() or (m2 & (v2 <= 0)).any():
            _bad_cell(y2, v2, m2)
        k = m2.sum(axis=-1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            center = np.where(k > 0, np.where(m2, y2, 0.0).sum(axis=-1) / np.maximum(k, 1), 0.0)
        if design:
            center = np.zeros_like(center)
        yc = np.where(m2, y2 - center[:, None], 0.0)
        vv = np.where(m2, v2, np.inf)
    n = y2.shape[0]
    # stored as (n, 4, k) and viewed as (n, k, 4): matmul runs fastest on this layout
    Z = np.empty((n, 4, kk)).transpose(0, 2, 1)
    Z[..., 0] = 1.0 if m2 is None else m2
    Z[..., 1] = yc
    np.multiply(yc, yc, out=Z[..., 2])
    Z[..., 3] = v2 if m2 is None else np.where(m2, v2, 0.0)
    present = Z[..., 0] > 0
    Xb = None
    if strata is not None:
        s = np.broadcast_to(np.asarray(strata), y.shape).reshape(-1, kk)
        if not np.issubdtype(s.dtype, np.integer):
            raise ValueError("strata must hold integer codes")
        n_strata = int(s[present].max()) + 1 if present.any() else 1
        Xb = (s[..., None] == np.arange(n_strata)).astype(float)
    elif X is not None:
        Xa = np.asarray(X, dtype=float)
        if Xa.ndim < 2 or Xa.shape[-2] != kk:
            raise ValueError(f"X must be shaped (k, p) or (..., k, p) with k = {kk}, got {Xa.shape}")
        Xb = np.broadcast_to(Xa, shape + Xa.shape[-2:]).reshape(n, kk, Xa.shape[-1])
        if not np.isfinite(np.where(present[..., None], Xb, 0.0)).all():
            raise ValueError("the design matrix X must be finite for every present study")
    if Xb is None:
        p = np.minimum(k, 1.0)
    else:
        Xb = np.where(present[..., None], Xb, 0.0)
        p = (np.abs(Xb).sum(axis=1) > 0).sum(axis=-1).astype(float)
    scalar = n == 1 and Xb is None
    if scalar:
        k, p = float(k[0]), float(p[0])
    return Batch(y=yc, v=vv, Z=Z, X=Xb, center=center, k=k, p=p, shape=shape, scalar=scalar)


def _bad_cell(y2: np.ndarray, v2: np.ndarray, m2: np.ndarray | None):
    """Raise an error naming the first offending cell (meta-analysis row, study column)."""
    present = np.ones(y2.shape, dtype=bool) if m2 is None else m2
    for rule, bad in (("yi must be finite", ~np.isfinite(y2)),
                      ("vi must be finite", ~np.isfinite(v2)),
                      ("vi must be > 0 (inverse-variance weights are 1/vi)", v2 <= 0)):
        hits = np.argwhere(present & bad)
        if hits.size:
            row, col = (int(x) for x in hits[0])
            raise ValueError(f"{rule} (meta-analysis {row}, study {col}; {len(hits)} cell(s) "
                             "break this rule; mask out studies that are absent)")
    raise ValueError("yi and vi must be finite and vi > 0")


def _single(y2: np.ndarray, v2: np.ndarray, shape: tuple[int, ...]) -> Batch:
    """:func:`make_batch` for one meta-analysis without mask or strata (the single fit)."""
    ysum, vsum = float(y2.sum()), float(v2.sum())
    if not (math.isfinite(ysum) and math.isfinite(vsum)) or v2.min() <= 0:
        _bad_cell(y2, v2, None)
    k = y2.shape[1]
    center = ysum / k
    zt = np.empty((1, 4, k))
    zt[0, 0] = 1.0
    np.subtract(y2[0], center, out=zt[0, 1])
    np.multiply(zt[0, 1], zt[0, 1], out=zt[0, 2])
    zt[0, 3] = v2[0]
    return Batch(y=zt[:, 1], v=v2, Z=zt.transpose(0, 2, 1), X=None, center=np.array([center]),
                 k=float(k), p=1.0, shape=shape, scalar=True)


class Stats(NamedTuple):
    """Inverse-variance summaries at one tau², per meta-analysis (floats or arrays).

    ``mu`` holds the weighted least-squares coefficients: relative to ``Batch.center``
    and a float or ``(n,)`` array without moderators, ``(n, p)`` with a design matrix;
    ``vb`` is (X'WX)^-1 (1/sum w, or ``(n, p, p)``). ``Q`` is y'Py, the weighted residual
    sum of squares (Cochran's Q at tau² = 0). ``trPV`` is tr(PV), needed by the Hedges
    estimator with unit weights (only computed with ``unit=True``). ``yPPPy`` enters the
    exact second derivative of the log-likelihood, ``logdet`` = log det(X'WX) the
    restricted likelihood.
    """

    sw: object
    sw2: object
    mu: object
    vb: object
    Q: object
    yPPy: object
    trP: object
    trPP: object
    trPV: object
    yPPPy: object
    logdet: object


_NEG_POWERS = np.array([[-1.0], [-2.0], [-3.0]])


def moments(b: Batch, t2, unit: bool = False) -> tuple:
    """Power sums at tau²: (s10, s11, s12, s1v, s20, s21, s22, s30, s31, s32).

    ``s_aj`` is sum w^a z_j with z = (1, y, y², v): floats for a scalar batch, else
    ``(n,)`` arrays. With ``unit=True`` the weights are the mask (a = 1 only; the higher
    powers are 0). ``s1v`` is computed only with ``unit=True``. Intercept-only batches.
    """
    if unit:
        s = b.Z.sum(axis=-2)
        if b.scalar:
            s10, s11, s12, s1v = s[0].tolist()
            return s10, s11, s12, s1v, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        zero = np.zeros(s.shape[:-1])
        return s[..., 0], s[..., 1], s[..., 2], s[..., 3], zero, zero, zero, zero, zero, zero
    if b.scalar:
        S = np.matmul(np.power(b.v[0] + t2, _NEG_POWERS), b.Z[0]).tolist()
        return (*S[0][:3], 0.0, *S[1][:3], *S[2][:3])
    # compiled on first use (numba's import and compilation stay out of `import metakit`)
    from metakit.stats.power_sums import power_sums

    return tuple(power_sums(b.v, b.Z.transpose(0, 2, 1), np.asarray(t2, dtype=float).reshape(-1)))


def _rowdot(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (n, k) arrays."""
    return np.einsum("nk,nk->n", a, c)


def subset(b: Batch, rows: np.ndarray) -> Batch:
    """The meta-analyses ``rows`` of a (non-scalar) batch."""
    zt = b.Z.transpose(0, 2, 1)[rows]          # keep the fast (n, 4, k) memory layout
    return b._replace(y=b.y[rows], v=b.v[rows], Z=zt.transpose(0, 2, 1),
                      X=None if b.X is None else b.X[rows], center=b.center[rows],
                      k=b.k[rows], p=b.p[rows], shape=(len(rows),))


def stats(b: Batch, t2, unit: bool = False) -> Stats:
    """:class:`Stats` at tau² (see the module docstring for the formulas)."""
    if b.X is not None:
        return _design_stats(b, t2, unit)
    s10, s11, s12, s1v, s20, s21, s22, s30, s31, s32 = moments(b, t2, unit)
    if b.scalar:
        mu = s11 / s10
        r = s20 / s10
        w2e = s21 - mu * s20
        return Stats(sw=s10, sw2=s20, mu=mu, vb=1.0 / s10, Q=s12 - s11 * mu,
                     yPPy=s22 - 2.0 * mu * s21 + mu * mu * s20, trP=s10 - r,
                     trPP=s20 - 2.0 * s30 / s10 + r * r, trPV=s1v - s1v / s10,
                     yPPPy=s32 - 2.0 * mu * s31 + mu * mu * s30 - w2e * w2e / s10,
                     logdet=math.log(s10))
    safe = np.where(s10 > 0, s10, np.inf)
    mu = s11 / safe
    r = s20 / safe
    w2e = s21 - mu * s20
    with np.errstate(divide="ignore"):
        logdet = np.log(s10)
    return Stats(sw=s10, sw2=s20, mu=mu, vb=1.0 / safe, Q=s12 - s11 * mu,
                 yPPy=s22 - 2.0 * mu * s21 + mu * mu * s20, trP=s10 - r,
                 trPP=s20 - 2.0 * s30 / safe + r * r, trPV=s1v - s1v / safe,
                 yPPPy=s32 - 2.0 * mu * s31 + mu * mu * s30 - w2e * w2e / safe, logdet=logdet)


def _design_stats(b: Batch, t2, unit: bool) -> Stats:
    """:class:`Stats` with a design matrix, by batched p x p algebra (Viechtbauer 2005).

    With A = X'WX, beta = A^-1 X'Wy, r = y - X beta and u = W r (= Py):
    y'Py = sum w r², y'PPy = sum u², y'PPPy = sum w u² - (X'Wu)' A^-1 (X'Wu),
    tr(P) = sum w - tr(A^-1 X'W²X),
    tr(PP) = sum w² - 2 tr(A^-1 X'W³X) + tr((A^-1 X'W²X)²),
    and with unit weights tr(PV) = sum v - tr((X'X)^-1 X'VX).
    A column that is 0 for every present study (an empty stratum) gets a unit diagonal
    in A, so its coefficient is 0 and it adds nothing.
    """
    X = b.X
    present = b.Z[..., 0]
    w = present if unit else 1.0 / (b.v + np.asarray(t2, dtype=float).reshape(-1)[:, None])
    Xw = X * w[..., None]
    A = np.einsum("nki,nkj->nij", Xw, X)
    empty = (np.abs(X).sum(axis=1) == 0)
    if empty.any():
        A = A + empty[:, :, None] * np.eye(X.shape[-1])[None]
    Ainv = np.linalg.inv(A)
    y = b.Z[..., 1]
    beta = np.einsum("nij,nj->ni", Ainv, np.einsum("nki,nk->ni", Xw, y))
    r = y - np.einsum("nki,ni->nk", X, beta)
    u = w * r
    Q = _rowdot(u, r)
    yPPy = _rowdot(u, u)
    g = np.einsum("nki,nk->ni", Xw, u)
    yPPPy = _rowdot(w * u, u) - np.einsum("ni,nij,nj->n", g, Ainv, g)
    sw = w.sum(axis=-1)
    sw2 = _rowdot(w, w)
    AB = Ainv @ np.einsum("nki,nkj->nij", Xw * w[..., None], X)
    trP = sw - np.trace(AB, axis1=-2, axis2=-1)
    trPP = (sw2 - 2.0 * np.trace(Ainv @ np.einsum("nki,nkj->nij", Xw * (w * w)[..., None], X),
                                 axis1=-2, axis2=-1)
            + np.einsum("nij,nji->n", AB, AB))
    if unit:
        vv = b.Z[..., 3]
        trPV = vv.sum(axis=-1) - np.trace(Ainv @ np.einsum("nki,nkj->nij", X * vv[..., None], X),
                                          axis1=-2, axis2=-1)
    else:
        trPV = np.zeros(b.n)
    logdet = np.linalg.slogdet(A)[1]
    return Stats(sw=sw, sw2=sw2, mu=beta, vb=Ainv, Q=Q, yPPy=yPPy, trP=trP, trPP=trPP,
                 trPV=trPV, yPPPy=yPPPy, logdet=logdet)


def where(cond, a, b):
    """``np.where`` that also takes Python bools and floats."""
    if isinstance(cond, (bool, np.bool_)):
        return a if cond else b
    return np.where(cond, a, b)


def maximum(a, b):
    """``np.maximum`` that keeps Python floats as floats."""
    if isinstance(a, float) and isinstance(b, float):
        return a if a >= b else b
    return np.maximum(a, b)


def every(cond) -> bool:
    """True if a Python bool or every element of an array is true."""
    return bool(cond) if isinstance(cond, (bool, np.bool_)) else bool(np.all(cond))


def lnot(x):
    """Logical not of a Python bool or a boolean array."""
    return (not x) if isinstance(x, (bool, np.bool_)) else ~x
