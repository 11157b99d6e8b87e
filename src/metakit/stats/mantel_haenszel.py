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

Tests for Mantel-Haenszel odds ratios (as metafor's ``rma.mh``; formulas in the docstrings of
:func:`cmh_test` and :func:`breslow_day`): the Cochran-Mantel-Haenszel test of OR = 1
(Mantel & Haenszel 1959), the Breslow-Day test of homogeneity of the odds ratios
(Breslow & Day 1980) and Tarone's (1985) corrected version; :func:`mh_or_tests` runs all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from metakit.stats.inference import Test


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


@dataclass(frozen=True)
class MHTests:
    """The tests that accompany a Mantel-Haenszel odds ratio (metafor's ``rma.mh``).

    Attributes
    ----------
    cmh
        Cochran-Mantel-Haenszel test of OR = 1 (metafor's ``MH``/``MHp``, printed "CMH").
    breslow_day
        Breslow-Day test of homogeneity of the odds ratios (``BD``/``BDp``).
    tarone
        Tarone's corrected Breslow-Day test (``TA``/``TAp``).
    k_pos
        Number of tables the two homogeneity tests use (metafor's ``k.pos``).
    """

    cmh: Test
    breslow_day: Test
    tarone: Test
    k_pos: np.ndarray | int

    def to_dict(self) -> dict:
        """Plain Python values of the three tests and ``k_pos``."""
        return {"cmh": self.cmh.to_dict(), "breslow_day": self.breslow_day.to_dict(),
                "tarone": self.tarone.to_dict(), "k_pos": np.asarray(self.k_pos).tolist()}

    def to_frame(self):
        """The three tests stacked, one row per test and batch element."""
        import pandas as pd

        return pd.concat([t.to_frame() for t in (self.cmh, self.breslow_day, self.tarone)],
                         ignore_index=True)

    def summary(self) -> str:
        """The three tests, one line each per batch element."""
        return "\n".join(t.summary() for t in (self.cmh, self.breslow_day, self.tarone))


def _tables(e1, n1, e2, n2, mask):
    """Cells of the tables, shaped ``(..., k)``, and the boolean mask of present tables.

    Absent tables (masked, or with a non-finite count) become ``0/1 vs 0/1``: no events, so
    they add nothing to any sum below, and no division by zero.
    """
    try:
        x = np.array((e1, n1, e2, n2), dtype=float)
    except ValueError:   # differently shaped inputs that broadcast
        x = np.array(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (e1, n1, e2, n2))))
    m = np.isfinite(x).all(0)
    if mask is not None:
        m &= np.asarray(mask, dtype=bool)
    if not m.all():
        x = np.where(m, x, np.array([0.0, 1.0, 0.0, 1.0]).reshape((4,) + (1,) * m.ndim))
    a, n1, c, n2 = x
    return a, n1 - a, c, n2 - c, n1, n2, n1 + n2, m


def _scalar(x):
    """A 0-d result as a Python number (one meta-analysis), arrays as they are (a batch)."""
    return x.item() if x.ndim == 0 else x


def _tests(names, stats, dfs):
    """:class:`Test` records, the p-values from one vectorised call."""
    stat, df = np.array(stats), np.array(dfs, dtype=float)
    ok = np.isfinite(stat) & (df >= 1)
    p = np.where(ok, special.chdtrc(np.where(ok, df, 1.0), np.where(ok, stat, 0.0)), np.nan)
    return [Test(_scalar(s), _scalar(d), _scalar(q), "chi2", n)
            for n, s, d, q in zip(names, stat, df, p)]


def _cmh(a, b, c, d, n1, n2, N, m, correct: bool, variance: str):
    """The CMH statistic (NaN where undefined)."""
    if variance not in ("hypergeometric", "binomial"):
        raise ValueError(f"variance must be 'hypergeometric' or 'binomial', not {variance!r}")
    xt, yt = a + c, b + d
    delta = (a - n1 * xt / N).sum(-1)
    denom = N * N * (N - 1) if variance == "hypergeometric" else N**3
    v = np.where((xt > 0) & (yt > 0), n1 * n2 * xt * yt / denom, 0.0).sum(-1)
    adelta = np.abs(delta)
    yates = 0.5 * ((adelta >= 0.5) & correct)
    return np.where(v > 0, (adelta - yates) ** 2 / np.where(v > 0, v, 1.0), np.nan)


def _breslow_day(a, b, c, d, n1, n2, N, m):
    """Breslow-Day and Tarone statistics and k_pos (NaN statistics where undefined)."""
    xt, yt = a + c, b + d
    R = (a * d / N).sum(-1)
    S = (b * c / N).sum(-1)
    defined = (R > 0) & (S > 0)
    psi = np.where(defined, R / np.where(defined, S, 1.0), 1.0)[..., None]
    # E[a] under the common OR psi given the margins: the root in (max(0, xt - n2), min(n1, xt))
    # of (psi - 1) x² - A x + psi n1 xt = 0; written as 2C/(A + B) when A > 0 to avoid the
    # cancellation of (A - B)/(2(psi - 1)) near psi = 1 (where it tends to n1 xt / N)
    A = psi * (n1 + xt) + (n2 - xt)
    C = psi * n1 * xt
    B = np.sqrt(np.maximum(A * A - 4.0 * (psi - 1.0) * C, 0.0))
    n11 = np.where(A > 0, 2.0 * C / (A + B), (A - B) / (2.0 * (psi - 1.0)))
    pos = m & defined[..., None] & (xt > 0) & (yt > 0) & (n1 > 0) & (n2 > 0) & (n11 > 0)
    var = np.where(pos, 1.0 / (1.0 / n11 + 1.0 / (n1 - n11) + 1.0 / (xt - n11)
                               + 1.0 / (N - n1 - xt + n11)), 1.0)
    dev = np.where(pos, a - n11, 0.0)
    bd = (dev * dev / var).sum(-1)
    ta = bd - dev.sum(-1) ** 2 / np.where(pos, var, 0.0).sum(-1)
    k_pos = pos.sum(-1)
    enough = k_pos >= 2
    bd = np.where(enough, np.maximum(bd, 0.0), np.nan)
    ta = np.where(enough, np.maximum(ta, 0.0), np.nan)
    return bd, ta, k_pos


def cmh_test(e1, n1, e2, n2, mask=None, *, correct: bool = True,
             variance: str = "hypergeometric") -> Test:
    """Cochran-Mantel-Haenszel test of a common odds ratio of 1 across 2x2 tables.

    With ``O - E = sum(a - n1 (a + c)/N)`` over the tables (Mantel & Haenszel 1959,
    J Natl Cancer Inst 22:719)::

        CMH = (|O - E| - 0.5)² / sum(n1 n2 (a + c)(b + d) / (N² (N - 1)))

    on 1 df. ``variance="binomial"`` divides by ``N³`` instead of ``N² (N - 1)``
    (Cochran 1954, Biometrics 10:417; metafor's ``CO``). The default equals metafor's ``MH``
    (printed "CMH") and R's ``mantelhaen.test(exact = FALSE)``.

    Continuity correction: 0.5 when ``correct`` and ``|O - E| >= 0.5``, otherwise none, as
    ``stats::mantelhaen.test``. metafor 3.8 (and 5.1) subtracts 0.5 also when ``|O - E| < 0.5``,
    which overshoots and turns a perfect O = E into a positive statistic; the two agree
    whenever ``|O - E| >= 0.5``.

    Tables with no events or no non-events (double-zero tables among them) add nothing to
    either sum, as in metafor. NaN where no table has both events and non-events.

    Parameters
    ----------
    e1, n1, e2, n2
        Events and totals per arm, shaped ``(..., k)``; raw counts (no continuity correction).
    mask
        True where a table is present; tables with a non-finite count are left out too.
    correct
        Apply the continuity correction (metafor's ``correct=TRUE`` default).
    variance
        ``"hypergeometric"`` (default) or ``"binomial"``.

    Returns
    -------
    Test
        Statistic, df (1) and p-value with the batch shape.

    Examples
    --------
    The double-zero example of issue 8 (metafor 3.8.1: CMH = 3.3612, p = 0.0667):

    >>> t = cmh_test([5, 0, 12, 3], [50, 40, 60, 45], [10, 0, 15, 8], [50, 35, 60, 44])
    >>> round(float(t.statistic), 4), round(float(t.pval), 4)
    (3.3612, 0.0667)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = _cmh(*_tables(e1, n1, e2, n2, mask), correct, variance)
    name = "Cochran-Mantel-Haenszel" if variance == "hypergeometric" else "Cochran"
    return _tests([name], [stat], [np.ones_like(stat)])[0]


def breslow_day(e1, n1, e2, n2, mask=None, *, tarone: bool = False) -> Test:
    """Breslow-Day test of homogeneity of odds ratios, or Tarone's corrected version.

    With the Mantel-Haenszel OR ``psi`` of the tables, ``E_i`` is the expected count of the
    first cell given the table's margins under OR = psi, the root in
    ``(max(0, xt - n2), min(n1, xt))`` of ``(psi - 1) x² - A x + psi n1 xt = 0`` with
    ``xt = a + c`` and ``A = psi (n1 + xt) + n2 - xt``; ``V_i`` is its variance,
    ``1 / (1/E + 1/(n1 - E) + 1/(xt - E) + 1/(N - n1 - xt + E))``
    (Breslow & Day 1980, Statistical Methods in Cancer Research I, IARC Sci Publ 32, 4.30)::

        BD = sum((a - E)² / V)                            on k_pos - 1 df
        TA = BD - (sum(a - E))² / sum(V)                  (Tarone 1985, Biometrika 72:91)

    Both are truncated at 0, as in metafor. Tables used (metafor's ``k.pos``): those with
    events and non-events (``xt > 0`` and ``b + d > 0``) and ``E > 0``, so double-zero
    tables and tables in which everyone had the event are left out, as in metafor's
    ``rma.mh``; tables with an empty arm are also left out (metafor gives NaN there).
    Undefined (NaN) when the MH OR is not (no ``a d`` or no ``b c`` product) or fewer than
    two tables are used (metafor then reports the statistic without a p-value).

    Parameters
    ----------
    e1, n1, e2, n2
        Events and totals per arm, shaped ``(..., k)``; raw counts.
    mask
        True where a table is present; tables with a non-finite count are left out too.
    tarone
        Return Tarone's corrected statistic instead of Breslow-Day's.

    Returns
    -------
    Test
        Statistic, df (``k_pos - 1``) and p-value with the batch shape.

    Examples
    --------
    The double-zero example of issue 8 (metafor 3.8.1: BD = 1.2074 on 2 df, p = 0.5468;
    the double-zero table is left out):

    >>> t = breslow_day([5, 0, 12, 3], [50, 40, 60, 45], [10, 0, 15, 8], [50, 35, 60, 44])
    >>> round(float(t.statistic), 4), float(t.df), round(float(t.pval), 4)
    (1.2074, 2.0, 0.5468)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        bd, ta, k_pos = _breslow_day(*_tables(e1, n1, e2, n2, mask))
    name, stat = ("Tarone", ta) if tarone else ("Breslow-Day", bd)
    return _tests([name], [stat], [np.maximum(k_pos - 1, 0)])[0]


def mh_or_tests(e1, n1, e2, n2, mask=None, *, correct: bool = True) -> MHTests:
    """The CMH, Breslow-Day and Tarone tests of a Mantel-Haenszel OR meta-analysis at once.

    See :func:`cmh_test` and :func:`breslow_day` for the formulas and the rules on
    zero cells; arguments as there.

    Examples
    --------
    dat.bcg (metafor 3.8.1: CMH = 135.6889, BD = 171.7654, Tarone = 171.7567, 12 df):

    >>> tpos = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
    >>> tneg = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
    >>> cpos = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
    >>> cneg = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
    >>> n1 = [p + q for p, q in zip(tpos, tneg)]
    >>> n2 = [p + q for p, q in zip(cpos, cneg)]
    >>> r = mh_or_tests(tpos, n1, cpos, n2)
    >>> print(r.summary())
    Cochran-Mantel-Haenszel: chi² = 135.6889, df = 1, p = 2.334e-31
    Breslow-Day: chi² = 171.7654, df = 12, p = 2.078e-30
    Tarone: chi² = 171.7567, df = 12, p = 2.087e-30
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = _tables(e1, n1, e2, n2, mask)
        bd, ta, k_pos = _breslow_day(*cells)
        cmh = _cmh(*cells, correct, "hypergeometric")
    df = np.maximum(k_pos - 1, 0)
    tests = _tests(["Cochran-Mantel-Haenszel", "Breslow-Day", "Tarone"], [cmh, bd, ta],
                   [np.ones_like(cmh), df, df])
    return MHTests(*tests, _scalar(k_pos))
