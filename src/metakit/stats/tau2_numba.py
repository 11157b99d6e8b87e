"""(RE)ML tau² of many small intercept-only meta-analyses, compiled with numba.

The same estimator as :func:`metakit.stats.tau2._fisher_scoring`, step for step, for a
dense ``(n, k)`` block (no masked cells): Fisher scoring from the DerSimonian-Laird
estimate inside the bracket (0, upper bound), bisection where a step leaves it, Newton
steps on the exact Hessian after the first scoring step or once a row oscillates; where
the score at 0 is not positive but Cochran's Q exceeds its df, the score is scanned on
the same geometric grid for an interior local maximum, which is kept if its likelihood
beats tau² = 0 (Viechtbauer 2005, J Educ Behav Stat 30:261). Each row is solved on its
own in compiled code, which spares the numpy version's passes over every row of the
batch per iteration: GOSH (:mod:`metakit.stats.gosh`) fits a million such rows.

:mod:`metakit.stats.gosh` imports this module inside a function, so numba's import and
compilation stay out of ``import metakit``. The constants are the numpy estimator's,
imported from :mod:`metakit.stats.tau2`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from metakit.stats.power_sums import row_sums
from metakit.stats.tau2 import NEWTON_FINAL, SCAN_POINTS, SCORING_ITERATIONS

__all__ = ["fisher_scoring_dense"]


@numba.njit(cache=True)
def _moments(y, v, t2):
    s10, s11, s12, s20, s21, s22, s30, s31, s32 = row_sums(y, v, t2)
    mu = s11 / s10
    r = s20 / s10
    w2e = s21 - mu * s20
    Q = s12 - s11 * mu
    yPPy = s22 - 2.0 * mu * s21 + mu * mu * s20
    trP = s10 - r
    trPP = s20 - 2.0 * s30 / s10 + r * r
    yPPPy = s32 - 2.0 * mu * s31 + mu * mu * s30 - w2e * w2e / s10
    return s10, s20, Q, yPPy, trP, trPP, yPPPy


@numba.njit(cache=True)
def _score(y, v, t2, ml):
    sw, sw2, Q, yPPy, trP, trPP, yPPPy = _moments(y, v, t2)
    score = yPPy - (sw if ml else trP)
    info = sw2 if ml else trPP
    return score, score / info, score / (2.0 * yPPPy - info)


@numba.njit(cache=True)
def _loglik(y, v, t2, ml):
    s = 0.0
    for i in range(y.size):
        s += math.log(v[i] + t2)
    sw, sw2, Q, yPPy, trP, trPP, yPPPy = _moments(y, v, t2)
    ll = -0.5 * (s + Q)
    if not ml:
        ll -= 0.5 * math.log(sw)
    return ll


@numba.njit(cache=True)
def _bracketed(y, v, x, lo, hi, ml, tol, maxiter, scoring_its, newton_final):
    """One row of :func:`metakit.stats.tau2._bracketed`; returns (x, converged)."""
    prev = 0.0
    newton_mode = False
    for it in range(maxiter):
        f, step, newton = _score(y, v, x, ml)
        up = f > 0
        newton_mode = newton_mode or (f * prev < 0) or (it >= scoring_its)
        prev = f
        if up:
            lo = x
        else:
            hi = x
        new = x + (newton if newton_mode else step)
        inside = (new > lo) and (new < hi)
        if not inside:
            new = 0.5 * (lo + hi)
        scale = max(1.0, new)
        change = abs(new - x)
        done = ((change < tol * scale) or (hi - lo < tol * max(1.0, hi))
                or (newton_mode and inside and change < newton_final * new))
        x = new
        if done:
            return x, True
    return x, False


@numba.njit(cache=True)
def _row(y, v, ml, tol, maxiter, scoring_its, newton_final, scan_points):
    k = y.size
    df = k - 1.0
    if df <= 0:
        return 0.0, True
    sw, sw2, Q, yPPy, trP, trPP, yPPPy = _moments(y, v, 0.0)
    score0 = yPPy - (sw if ml else trP)
    ymax = y.max()
    ymin = y.min()
    rng = ymax - ymin
    hi = max(v.max(), 2.0 * k * rng * rng / df) * (1 + 1e-9) + 1e-300
    x = 0.0
    conv = True
    if score0 > 0:
        start = (Q - df) / trP
        if not start == start:
            start = 0.0
        x0 = (start if start < hi else 0.5 * hi) if start > 0 else 0.0
        x, conv = _bracketed(y, v, x0, 0.0, hi, ml, tol, maxiter, scoring_its, newton_final)
    elif Q > df:
        # the numpy estimator's scan: grid hi/2^24 .. hi/2, each point with a positive
        # score followed by a non-positive one brackets a local maximum
        grid = np.empty(scan_points + 1)
        scores = np.empty(scan_points + 1)
        for j in range(scan_points):
            grid[j] = hi * 0.5 ** (scan_points - j)
            scores[j] = _score(y, v, grid[j], ml)[0]
        grid[scan_points] = hi
        scores[scan_points] = -1.0
        best_ll = -np.inf
        best = -1
        for j in range(scan_points):
            if scores[j] > 0 and scores[j + 1] <= 0:
                ll = _loglik(y, v, grid[j], ml)
                if ll > best_ll:
                    best_ll = ll
                    best = j
        if best >= 0:
            lo, top = grid[best], grid[best + 1]
            t_in, _ = _bracketed(y, v, 0.5 * (lo + top), lo, top, ml, tol, maxiter,
                                 scoring_its, newton_final)
            if _loglik(y, v, t_in, ml) > _loglik(y, v, 0.0, ml):
                x = t_in
    if not (x == x and abs(x) < np.inf) or x < 0:
        x = 0.0
    return x, conv


@numba.njit(cache=True, parallel=False)
def _solve(Y, V, ml, tol, maxiter, scoring_its, newton_final, scan_points):
    n = Y.shape[0]
    out = np.empty(n)
    conv = np.empty(n, dtype=np.bool_)
    for r in range(n):
        y = Y[r]
        c = y.mean()
        out[r], conv[r] = _row(y - c, V[r], ml, tol, maxiter, scoring_its, newton_final,
                               scan_points)
    return out, conv


def fisher_scoring_dense(Y: np.ndarray, V: np.ndarray, method: str, tol: float,
                         maxiter: int) -> tuple[np.ndarray, np.ndarray]:
    """tau² (ML or REML) of each row of dense ``(n, k)`` arrays, and convergence flags.

    Examples
    --------
    >>> t2, ok = fisher_scoring_dense(np.array([[0.1, 0.5, 0.9]]),
    ...                               np.array([[0.01, 0.02, 0.015]]), "REML", 1e-10, 200)
    >>> bool(ok[0]), round(float(t2[0]), 6)  # metafor (tight control): 0.14994949
    (True, 0.149949)
    """
    Y = np.ascontiguousarray(Y, dtype=float)
    V = np.ascontiguousarray(V, dtype=float)
    return _solve(Y, V, method == "ML", float(tol), int(maxiter), SCORING_ITERATIONS,
                  NEWTON_FINAL, SCAN_POINTS)
