"""Array plumbing shared by the batched estimators.

Every estimator works on ``n`` meta-analyses of up to ``k`` studies each, held as
``(n, k)`` arrays with a mask for ragged ``k``. Optionally the studies of each
meta-analysis are split into strata (subgroups with their own mean but a common tau²).

All inverse-variance quantities of the normal-normal model come from weighted power
sums ("moments") S_ab = sum_i w_i^a z_ib with w = 1/(v + tau²), a = 1, 2, 3 and
z = (1, y, y², v): the weighted mean, Cochran's Q, y'PPy, tr(P) and tr(PP) are short
closed forms in them (for X = stratum indicators, P = W - W X (X'WX)^-1 X'W is block
diagonal). One matrix product per tau² value gives all of them, for every meta-analysis
at once.

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
    ZG
        Per-stratum moment basis (n, S, k, 4), or None without strata.
    center
        The unweighted mean subtracted from ``y`` for numerical stability (n,).
    k, p
        Studies and fixed parameters (non-empty strata) per meta-analysis, float (n,).
    shape
        The caller's batch shape, restored on output.
    scalar
        True for a single meta-analysis without strata: moments come back as floats.
    """

    y: np.ndarray
    v: np.ndarray
    Z: np.ndarray
    ZG: np.ndarray | None
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


def make_batch(yi, vi, mask=None, strata=None) -> Batch:
    """Validate and flatten ``(..., k)`` arrays into a :class:`Batch`.

    Parameters
    ----------
    yi, vi
        Arrays of the same shape ``(..., k)``.
    mask
        Boolean array broadcastable to that shape; True where a study is present.
        Cells that are NaN must be masked out.
    strata
        Integer array ``(..., k)`` of stratum codes ``0..S-1`` (masked cells ignored).
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
    if mask is None and strata is None and y2.shape[0] == 1:
        return _single(y2, v2, shape)
    if mask is None:
        # one pass each: a non-finite value or overflow makes the sum non-finite
        if not (np.isfinite(y2.sum()) and np.isfinite(v2.sum())) or v2.min() <= 0:
            _bad_cell(y2, v2, None)
        k = float(kk) if y2.shape[0] == 1 else np.full(y2.shape[0], float(kk))
        center = y2.sum(axis=-1) / kk
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
        yc = np.where(m2, y2 - center[:, None], 0.0)
        vv = np.where(m2, v2, np.inf)
    n = y2.shape[0]
    # stored as (n, 4, k) and viewed as (n, k, 4): matmul runs fastest on this layout
    Z = np.empty((n, 4, kk)).transpose(0, 2, 1)
    Z[..., 0] = 1.0 if m2 is None else m2
    Z[..., 1] = yc
    np.multiply(yc, yc, out=Z[..., 2])
    Z[..., 3] = v2 if m2 is None else np.where(m2, v2, 0.0)
    ZG = None
    if strata is None:
        p = np.minimum(k, 1.0)
    else:
        k = np.atleast_1d(k)
        s = np.broadcast_to(np.asarray(strata), y.shape).reshape(-1, kk)
        if not np.issubdtype(s.dtype, np.integer):
            raise ValueError("strata must hold integer codes")
        present = np.ones(s.shape, dtype=bool) if m2 is None else m2
        n_strata = int(s[present].max()) + 1 if present.any() else 1
        G = ((s[..., None] == np.arange(n_strata)) & present[..., None]).astype(float)
        ZG = np.einsum("nks,nkj->nskj", G, Z)
        p = (G.sum(axis=1) > 0).sum(axis=-1).astype(float)
    scalar = n == 1 and ZG is None
    if scalar:
        k, p = float(np.asarray(k).flat[0]), float(np.asarray(p).flat[0])
    return Batch(y=yc, v=vv, Z=Z, ZG=ZG, center=center, k=k, p=p, shape=shape, scalar=scalar)


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
    return Batch(y=zt[:, 1], v=v2, Z=zt.transpose(0, 2, 1), ZG=None, center=np.array([center]),
                 k=float(k), p=1.0, shape=shape, scalar=True)


class Stats(NamedTuple):
    """Inverse-variance summaries at one tau², per meta-analysis (floats or (n,) arrays).

    ``mu`` is per stratum ((n, S) with strata) and relative to ``Batch.center``;
    ``swv`` is sum(w v) and ``vbar`` the sum over strata of sum(w v)/sum(w) (with unit
    weights: the mean sampling variance of each stratum, needed by the HE estimator);
    ``yPPPy`` is y'PPPy, which enters the exact second derivative of the log-likelihood.
    """

    sw: object
    sw2: object
    mu: object
    Q: object
    yPPy: object
    trP: object
    trPP: object
    swv: object
    vbar: object
    yPPPy: object


_NEG_POWERS = np.array([[-1.0], [-2.0], [-3.0]])


def moments(b: Batch, t2, unit: bool = False) -> tuple:
    """Power sums at tau²: (s10, s11, s12, s1v, s20, s21, s22, s30, s31, s32).

    ``s_aj`` is sum w^a z_j with z = (1, y, y², v): floats for a scalar batch, ``(n,)``
    arrays, or ``(n, S)`` per stratum. With ``unit=True`` the weights are the mask
    (a = 1 only; the higher powers are 0). ``s1v`` is computed only with ``unit=True``.
    """
    if unit:
        s = b.ZG.sum(axis=-2) if b.ZG is not None else b.Z.sum(axis=-2)
        if b.scalar:
            s10, s11, s12, s1v = s[0].tolist()
            return s10, s11, s12, s1v, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        zero = np.zeros(s.shape[:-1])
        return s[..., 0], s[..., 1], s[..., 2], s[..., 3], zero, zero, zero, zero, zero, zero
    if b.scalar:
        S = np.matmul(np.power(b.v[0] + t2, _NEG_POWERS), b.Z[0]).tolist()
        return (*S[0][:3], 0.0, *S[1][:3], *S[2][:3])
    w = 1.0 / (b.v + np.asarray(t2)[:, None])
    if b.ZG is not None:
        W = np.stack([w, w * w, w * w * w], axis=1)
        S = np.matmul(W[:, None], b.ZG)
        zero = np.zeros(S.shape[:2])
        return (S[..., 0, 0], S[..., 0, 1], S[..., 0, 2], zero, S[..., 1, 0], S[..., 1, 1],
                S[..., 1, 2], S[..., 2, 0], S[..., 2, 1], S[..., 2, 2])
    # one fused multiply-and-sum per moment: faster than a batched matmul of tiny matrices
    y, yy = b.Z[..., 1], b.Z[..., 2]
    w2 = w * w
    w3 = w2 * w
    dot = _rowdot
    return (w.sum(axis=-1), dot(w, y), dot(w, yy), np.zeros(b.n), w2.sum(axis=-1),
            dot(w2, y), dot(w2, yy), w3.sum(axis=-1), dot(w3, y), dot(w3, yy))


def _rowdot(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (n, k) arrays."""
    return np.einsum("nk,nk->n", a, c)


def subset(b: Batch, rows: np.ndarray) -> Batch:
    """The meta-analyses ``rows`` of a (non-scalar) batch."""
    zt = b.Z.transpose(0, 2, 1)[rows]          # keep the fast (n, 4, k) memory layout
    return b._replace(y=b.y[rows], v=b.v[rows], Z=zt.transpose(0, 2, 1),
                      ZG=None if b.ZG is None else b.ZG[rows], center=b.center[rows],
                      k=b.k[rows], p=b.p[rows], shape=(len(rows),))


def stats(b: Batch, t2, unit: bool = False) -> Stats:
    """:class:`Stats` at tau² (see the module docstring for the formulas)."""
    s10, s11, s12, s1v, s20, s21, s22, s30, s31, s32 = moments(b, t2, unit)
    if b.scalar:
        mu = s11 / s10
        r = s20 / s10
        w2e = s21 - mu * s20
        return Stats(sw=s10, sw2=s20, mu=mu, Q=s12 - s11 * mu,
                     yPPy=s22 - 2.0 * mu * s21 + mu * mu * s20, trP=s10 - r,
                     trPP=s20 - 2.0 * s30 / s10 + r * r, swv=s1v, vbar=s1v / s10,
                     yPPPy=s32 - 2.0 * mu * s31 + mu * mu * s30 - w2e * w2e / s10)
    # per stratum where there are strata (an empty stratum has s10 = 0 and adds nothing)
    safe = np.where(s10 > 0, s10, np.inf)
    mu = s11 / safe
    r = s20 / safe
    w2e = s21 - mu * s20
    parts = (s10, s20, s12 - s11 * mu, s22 - 2.0 * mu * s21 + mu * mu * s20, s10 - r,
             s20 - 2.0 * s30 / safe + r * r, s1v, s1v / safe,
             s32 - 2.0 * mu * s31 + mu * mu * s30 - w2e * w2e / safe)
    if b.ZG is not None:
        parts = tuple(x.sum(axis=-1) for x in parts)
    sw, sw2, Q, ypp, trp, trpp, swv, vbar, yppp = parts
    return Stats(sw=sw, sw2=sw2, mu=mu, Q=Q, yPPy=ypp, trP=trp, trPP=trpp, swv=swv,
                 vbar=vbar, yPPPy=yppp)


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
