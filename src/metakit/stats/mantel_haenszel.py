"""Mantel-Haenszel and Peto pooling of 2x2 tables, vectorised over a batch axis.

Arm data per study: ``a`` events and ``n1`` total in the experimental arm, ``c`` events
and ``n2`` total in the control arm; ``b = n1 - a``, ``d = n2 - c``, ``N = n1 + n2``.
Arrays are shaped ``(..., k)``; a mask handles ragged ``k``.

Odds ratio (Mantel & Haenszel 1959, J Natl Cancer Inst 22:719): OR = sum(R)/sum(S),
R = ad/N, S = bc/N, with the variance of log OR of Robins, Breslow & Greenland (1986),
Biometrics 42:311:
var = sum(P R)/(2 sum(R)²) + sum(P S + Q R)/(2 sum(R) sum(S)) + sum(Q S)/(2 sum(S)²),
P = (a + d)/N, Q = (b + c)/N.

Risk ratio (Greenland & Robins 1985, Biometrics 41:55): RR = sum(a n2/N)/sum(c n1/N),
var(log RR) = sum((n1 n2 (a + c) - a c N)/N²) / (sum(a n2/N) sum(c n1/N)).

Risk difference: RD = sum((a n2 - c n1)/N) / sum(n1 n2/N), with the variance of
Sato, Greenland & Robins (1989), Biometrics 45:1323 (as metafor; consistent in both
sparse-data and large-strata limits):
var = [RD sum(c (n1/N)² - a (n2/N)² + (n1/N)(n2/N)(n2 - n1)/2)
       + sum(a (n2 - c)/N + c (n1 - a)/N)/2] / sum(n1 n2/N)²,
or that of Greenland & Robins (1985) (as RevMan 5):
var = sum((a b n2³ + c d n1³)/(n1 n2 N²)) / sum(n1 n2/N)².

Peto's one-step odds ratio (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335):
log OR = sum(O - E)/sum(V), var = 1/sum(V), with O = a, E = (a + c) n1/N,
V = (a + c)(b + d) n1 n2 / (N² (N - 1)).
"""

from __future__ import annotations

import numpy as np


def _cells(e1, n1, e2, n2, mask):
    a = np.asarray(e1, dtype=float)
    c = np.asarray(e2, dtype=float)
    n1 = np.asarray(n1, dtype=float)
    n2 = np.asarray(n2, dtype=float)
    m = np.ones(a.shape, dtype=bool) if mask is None else np.broadcast_to(mask, a.shape)
    a, c = np.where(m, a, 0.0), np.where(m, c, 0.0)
    n1, n2 = np.where(m, n1, 1.0), np.where(m, n2, 1.0)
    return a, n1 - a, c, n2 - c, n1, n2, n1 + n2, m.astype(float)


def mantel_haenszel(measure: str, e1, n1, e2, n2, mask=None, rd_variance: str = "sato"):
    """Mantel-Haenszel pooled estimate and its variance (log scale for OR and RR).

    Parameters
    ----------
    measure
        ``"OR"``, ``"RR"`` or ``"RD"``.
    e1, n1, e2, n2
        Events and totals per arm, shaped ``(..., k)`` (continuity-corrected counts may
        be passed; they need not be integers).
    mask
        True where a study is present.
    rd_variance
        Variance of the RD: ``"sato"`` (Sato, Greenland & Robins 1989; metafor) or
        ``"greenland-robins"`` (1985; RevMan 5).

    Returns
    -------
    estimate, variance
        Arrays with the batch shape. The estimate is NaN where it is not estimable
        (for example no events in any study).

    Examples
    --------
    Two strata with OR = 2 each (Mantel-Haenszel of identical tables is that OR):

    >>> import numpy as np
    >>> est, var = mantel_haenszel("OR", [20, 20], [40, 40], [10, 10], [30, 30])
    >>> round(float(np.exp(est)), 6)
    2.0
    """
    a, b, c, d, n1, n2, N, m = _cells(e1, n1, e2, n2, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            R, S = m * a * d / N, m * b * c / N
            P, Q = (a + d) / N, (b + c) / N
            sR, sS = R.sum(-1), S.sum(-1)
            est = np.log(sR / sS)
            var = ((P * R).sum(-1) / (2 * sR**2) + (P * S + Q * R).sum(-1) / (2 * sR * sS)
                   + (Q * S).sum(-1) / (2 * sS**2))
        elif measure == "RR":
            R, S = m * a * n2 / N, m * c * n1 / N
            sR, sS = R.sum(-1), S.sum(-1)
            est = np.log(sR / sS)
            var = (m * (n1 * n2 * (a + c) - a * c * N) / N**2).sum(-1) / (sR * sS)
        elif measure == "RD":
            L = (m * n1 * n2 / N).sum(-1)
            est = (m * (a * n2 - c * n1) / N).sum(-1) / L
            if rd_variance == "sato":
                p1, p2 = n1 / N, n2 / N
                num = (est * (m * (c * p1**2 - a * p2**2 + p1 * p2 * (n2 - n1) / 2)).sum(-1)
                       + (m * (a * (n2 - c) + c * (n1 - a)) / N).sum(-1) / 2)
                var = num / L**2
            elif rd_variance == "greenland-robins":
                var = (m * (a * b * n2**3 + c * d * n1**3) / (n1 * n2 * N**2)).sum(-1) / L**2
            else:
                raise ValueError(f"rd_variance must be 'sato' or 'greenland-robins', not {rd_variance!r}")
        else:
            raise ValueError(f"Mantel-Haenszel pools OR, RR or RD, not {measure!r}")
    bad = ~np.isfinite(est) | ~np.isfinite(var) | (var <= 0)
    return np.where(bad, np.nan, est), np.where(bad, np.nan, var)


def peto(e1, n1, e2, n2, mask=None):
    """Peto's pooled log odds ratio and its variance.

    Returns ``(estimate, variance, o_minus_e, v)`` where the last two are the per-study
    O - E and V arrays (for the heterogeneity statistic).

    Examples
    --------
    >>> est, var, _, _ = peto([10], [50], [5], [50])
    >>> round(float(est), 6), round(float(var), 6)   # O-E = 2.5, V = 15*85*2500/(10000*99)
    (0.776471, 0.310588)
    """
    a, b, c, d, n1, n2, N, m = _cells(e1, n1, e2, n2, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        o_e = m * (a - (a + c) * n1 / N)
        v = m * (a + c) * (b + d) * n1 * n2 / (N**2 * (N - 1))
        sv = v.sum(-1)
        est = o_e.sum(-1) / sv
        var = 1.0 / sv
    bad = ~(sv > 0)
    return np.where(bad, np.nan, est), np.where(bad, np.nan, var), o_e, v
