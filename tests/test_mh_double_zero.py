"""Mantel-Haenszel and Peto fits with a double-zero table, as metafor's rma.mh / rma.peto.

Every table counts in k and in the pooled estimate; heterogeneity (Q, I², H² and its p)
is measured over the tables whose own estimate is defined. metafor 3.8 on events 5/50 vs
10/50, 0/40 vs 0/35, 12/60 vs 15/60, 3/45 vs 8/44 (RD): estimate -0.068413,
QE = 0.71665 on 2 df, I² = 0 (values quoted in the issue that reported the defect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import MetakitWarning

DATA = pd.DataFrame({"study": ["A", "B", "C", "D"], "e_t": [5, 0, 12, 3], "n_t": [50, 40, 60, 45],
                     "e_c": [10, 0, 15, 8], "n_c": [50, 35, 60, 44]})


def test_rd_heterogeneity_over_the_informative_tables():
    fit = mk.meta(mk.effect_sizes(DATA, "RD"), method="MH", model="common")
    assert abs(fit.estimate - (-0.068413)) < 5e-7
    h = fit.heterogeneity
    assert abs(h.Q - 0.71665) < 5e-6 and h.df == 2 and h.I2 == 0.0 and fit.k == 4


def test_explicit_drop00_false_keeps_the_table_in_q_as_metafor():
    """metafor's rma.mh(drop00 = FALSE) counts the corrected double-zero table in Q; the
    default leaves it out (tests/reference/metafor_defects.json has both, for RD, RR, OR)."""
    default = mk.meta(mk.effect_sizes(DATA, "RD"), method="MH", model="common")
    kept = mk.meta(mk.effect_sizes(DATA, "RD", drop00=False), method="MH", model="common")
    assert default.heterogeneity.df == 2 and kept.heterogeneity.df == 3
    assert abs(kept.heterogeneity.Q - 7.318739730063982) < 1e-9


def test_peto_with_a_double_zero_table_no_longer_raises():
    """Peto's Q by hand: Q = sum (O - E)²/V - (sum (O - E))²/sum V over the tables with
    V > 0 (a double-zero table has V = 0 and adds nothing, whether kept or dropped)."""
    def q_of(a, n1, c, n2):
        a, n1, c, n2 = (np.asarray(x, float) for x in (a, n1, c, n2))
        N = n1 + n2
        o_e = a - (a + c) * n1 / N
        v = (a + c) * (N - a - c) * n1 * n2 / (N ** 2 * (N - 1))
        return (o_e ** 2 / v).sum() - o_e.sum() ** 2 / v.sum(), o_e.sum() / v.sum()

    q3, _ = q_of([5, 12, 3], [50, 60, 45], [10, 15, 8], [50, 60, 44])
    _, est = q_of([5, 12, 3], [50, 60, 45], [10, 15, 8], [50, 60, 44])
    fit = mk.meta(mk.effect_sizes(DATA, "OR", drop00=False), method="Peto", model="common")
    assert fit.k == 4 and np.isclose(fit.estimate, est, rtol=1e-12)
    assert np.isclose(fit.heterogeneity.Q, q3, rtol=1e-10) and fit.heterogeneity.df == 2
    assert fit.weights[1] == 0.0
    with pytest.warns(MetakitWarning, match="excluded from OR: B"):
        default = mk.meta(mk.effect_sizes(DATA, "OR"), method="Peto", model="common")
    assert np.isclose(default.heterogeneity.Q, q3, rtol=1e-10) and default.heterogeneity.df == 2


def test_result_offers_the_mh_tests_and_the_test_based_ci():
    """dat.bcg as an MH odds ratio: metafor 3.8.1 rma.mh gives CMH = 135.6889 and
    Breslow-Day = 171.7654 on 12 df (see tests/reference/metafor_mhtests.json)."""
    tpos = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
    tneg = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
    cpos = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
    cneg = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
    d = pd.DataFrame({"study": [f"T{i}" for i in range(13)], "e_t": tpos,
                      "n_t": np.add(tpos, tneg), "e_c": cpos, "n_c": np.add(cpos, cneg)})
    fit = mk.meta(mk.effect_sizes(d, "OR"), method="MH")
    tests = fit.mh_tests()
    assert round(tests.cmh.statistic, 4) == 135.6889 and round(tests.breslow_day.statistic, 4) == 171.7654
    ci = fit.confint("test-based")
    q, df = fit.heterogeneity.Q, fit.heterogeneity.df
    assert np.isclose(ci.I2[0], 100 * (q - df) / q)
    assert fit.to_dict()["mh_tests"]["cmh"]["df"] == 1.0
