"""Weighted power sums of a batch in one compiled pass (the hot loop of every batched fit).

For each meta-analysis i at its tau²_i, with w_ij = 1/(v_ij + tau²_i) and the centred
estimates y_ij, this returns s_a0 = sum_j w^a, s_a1 = sum_j w^a y and s_a2 = sum_j w^a y²
for a = 1, 2, 3 (see :mod:`metakit.stats.moments` for what they give). numpy needs a dozen
passes over the ``(n, k)`` arrays for these nine sums; one compiled loop reads each cell
once, which makes 100,000 REML fits about a third faster (``benchmarks/bench_pairwise.py``).
Masked cells have v = inf, so their weight is 0.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def row_sums(y: np.ndarray, v: np.ndarray, t2: float):
    """The nine sums of one meta-analysis: (s10, s11, s12, s20, s21, s22, s30, s31, s32).

    Also the inner loop of GOSH's compiled (RE)ML solver (:mod:`metakit.stats.tau2_numba`).
    """
    s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = 0.0
    for j in range(y.size):
        w = 1.0 / (v[j] + t2)
        yj = y[j]
        yy = yj * yj
        w2 = w * w
        w3 = w2 * w
        s10 += w
        s11 += w * yj
        s12 += w * yy
        s20 += w2
        s21 += w2 * yj
        s22 += w2 * yy
        s30 += w3
        s31 += w3 * yj
        s32 += w3 * yy
    return s10, s11, s12, s20, s21, s22, s30, s31, s32


@numba.njit(cache=True, nogil=True)
def power_sums(v: np.ndarray, Zt: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Rows s10, s11, s12, s1v (0), s20, s21, s22, s30, s31, s32 of a ``(10, n)`` array.

    ``v`` is ``(n, k)``, ``Zt`` the moment basis stored ``(n, 4, k)`` (rows 1, y, y², v)
    and ``t2`` the tau² of each meta-analysis.
    """
    n = v.shape[0]
    out = np.zeros((10, n))
    for i in range(n):
        s10, s11, s12, s20, s21, s22, s30, s31, s32 = row_sums(Zt[i, 1], v[i], t2[i])
        out[0, i] = s10
        out[1, i] = s11
        out[2, i] = s12
        out[4, i] = s20
        out[5, i] = s21
        out[6, i] = s22
        out[7, i] = s30
        out[8, i] = s31
        out[9, i] = s32
    return out
