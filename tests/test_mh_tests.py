"""CMH, Breslow-Day and Tarone tests of Mantel-Haenszel odds ratios against metafor 3.8.1.

Reference: tests/reference/metafor_mhtests.json, written by metafor_mhtests.R (rma.mh and
stats::mantelhaen.test) on dat.bcg, dat.collins1985a (two outcomes, with NA, single-zero and
double-zero tables), dat.collins1985b, dat.laopaiboon2015, the double-zero example of issue 8
and two constructed edge cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from metakit.stats.mantel_haenszel import breslow_day, cmh_test, mh_or_tests
from reference_data import arr, close, load

REF = load("metafor_mhtests")["cases"]
CASES = sorted(REF)


def counts(case):
    c = REF[case]
    return arr(c["ai"]), arr(c["n1i"]), arr(c["ci"]), arr(c["n2i"])


def delta(case) -> float:
    """sum(O - E) over the complete tables, computed independently of the module."""
    a, n1, c, n2 = counts(case)
    ok = ~(np.isnan(a) | np.isnan(c))
    return float(np.sum(a[ok] - n1[ok] * (a[ok] + c[ok]) / (n1[ok] + n2[ok])))


def test_every_case_is_in_the_reference():
    assert len(CASES) == 8
    for case in CASES:
        assert REF[case]["fits"]["correct"]["MH"] is not None


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("setting", ["correct", "uncorrected"])
def test_cmh_equals_mantelhaen_test(case, setting):
    ref = REF[case]["fits"][setting]["mantelhaen"]
    t = cmh_test(*counts(case), correct=setting == "correct")
    assert close(t.statistic, ref["statistic"], rtol=1e-9, atol=1e-10)
    assert close(t.pval, ref["pval"], rtol=1e-9, atol=1e-12)
    assert float(t.df) == 1.0


# metafor over-corrects where |O - E| < 0.5 (see test_small_difference_is_not_over_corrected)
AGREE = [(case, setting) for case in CASES for setting in ("correct", "uncorrected")
         if setting == "uncorrected" or abs(delta(case)) >= 0.5]


def test_metafor_agrees_on_all_but_the_two_small_difference_cases():
    assert len(AGREE) == 2 * len(CASES) - 2


@pytest.mark.parametrize(("case", "setting"), AGREE)
def test_cmh_and_cochran_equal_metafor(case, setting):
    correct = setting == "correct"
    ref = REF[case]["fits"][setting]
    t = cmh_test(*counts(case), correct=correct)
    assert close(t.statistic, ref["MH"], rtol=1e-9, atol=1e-10)
    assert close(t.pval, ref["MHp"], rtol=1e-9, atol=1e-12)
    co = cmh_test(*counts(case), correct=correct, variance="binomial")
    assert close(co.statistic, ref["CO"], rtol=1e-9, atol=1e-10)
    assert close(co.pval, ref["COp"], rtol=1e-9, atol=1e-12)


def test_small_difference_is_not_over_corrected():
    # |O - E| = 7 - 40 * 14 / 85 = 0.4118 < 0.5: mantelhaen.test applies no correction,
    # metafor subtracts 0.5 anyway; metakit follows mantelhaen.test
    assert abs(delta("small_delta") - (7 - 40 * 14 / 85)) < 1e-12
    fit = REF["small_delta"]["fits"]
    t = cmh_test(*counts("small_delta"))
    assert close(t.statistic, fit["uncorrected"]["MH"], rtol=1e-9)
    assert not close(t.statistic, fit["correct"]["MH"], rtol=1e-2)
    # O = E exactly: no evidence against OR = 1 at all, the statistic is 0
    assert delta("all_events") == 0.0
    t0 = cmh_test(*counts("all_events"))
    assert float(t0.statistic) == 0.0 and float(t0.pval) == 1.0
    assert fit["correct"]["MH"] > 0   # what metafor reports instead


@pytest.mark.parametrize("case", CASES)
def test_breslow_day_and_tarone_equal_metafor(case):
    ref = REF[case]["fits"]["correct"]
    r = mh_or_tests(*counts(case))
    assert int(r.k_pos) == ref["k_pos"]
    assert float(r.breslow_day.df) == ref["k_pos"] - 1
    assert close(r.breslow_day.statistic, ref["BD"], rtol=1e-7, atol=1e-9)
    assert close(r.breslow_day.pval, ref["BDp"], rtol=1e-7, atol=1e-12)
    assert close(r.tarone.statistic, ref["TA"], rtol=1e-7, atol=1e-9)
    assert close(r.tarone.pval, ref["TAp"], rtol=1e-7, atol=1e-12)
    bd = breslow_day(*counts(case))
    ta = breslow_day(*counts(case), tarone=True)
    assert float(bd.statistic) == float(r.breslow_day.statistic)
    assert float(ta.statistic) == float(r.tarone.statistic)


def test_uninformative_tables_are_left_out_of_breslow_day():
    # tables with NA counts are absent (metafor's k counts the rest); of those, tables without
    # events (double zeros) or without non-events carry no information on the OR - counted
    # here from the raw counts, independently of the module, and checked against metafor's k.pos
    for case in ("collins1985a_mortality", "collins1985a_rebleeding", "double_zero", "all_events"):
        a, n1, c, n2 = counts(case)
        ok = ~(np.isnan(a) | np.isnan(c))
        informative = ok & (a + c > 0) & (n1 - a + n2 - c > 0)
        assert REF[case]["fits"]["correct"]["k"] == ok.sum()
        assert int(mh_or_tests(a, n1, c, n2).k_pos) == informative.sum() == REF[case]["fits"]["correct"]["k_pos"]


def test_batched_with_mask_equals_one_at_a_time():
    kmax = max(len(REF[c]["ai"]) for c in CASES)
    shape = (len(CASES), kmax)
    e1, n1, e2, n2 = (np.full(shape, 7.0) for _ in range(4))   # junk in masked cells
    mask = np.zeros(shape, dtype=bool)
    for i, case in enumerate(CASES):
        a, m1, c, m2 = counts(case)
        k = len(a)
        e1[i, :k], n1[i, :k], e2[i, :k], n2[i, :k] = a, m1, c, m2
        mask[i, :k] = True
    r = mh_or_tests(e1, n1, e2, n2, mask)
    assert r.cmh.statistic.shape == (len(CASES),)
    for i, case in enumerate(CASES):
        one = mh_or_tests(*counts(case))
        for got, want in ((r.cmh, one.cmh), (r.breslow_day, one.breslow_day), (r.tarone, one.tarone)):
            assert close(got.statistic[i], want.statistic, rtol=1e-12)
            assert close(got.pval[i], want.pval, rtol=1e-12)
            assert got.df[i] == want.df
    # two batch axes: the same 8 cases as a 2 x 4 block
    r2 = mh_or_tests(*(x.reshape(2, 4, kmax) for x in (e1, n1, e2, n2)), mask.reshape(2, 4, kmax))
    assert np.array_equal(r2.breslow_day.statistic.ravel(), r.breslow_day.statistic)


def test_swapping_arms_leaves_the_tests_unchanged():
    a, n1, c, n2 = counts("collins1985b")
    r, s = mh_or_tests(a, n1, c, n2), mh_or_tests(c, n2, a, n1)
    for x, y in ((r.cmh, s.cmh), (r.breslow_day, s.breslow_day), (r.tarone, s.tarone)):
        assert close(x.statistic, y.statistic, rtol=1e-10)


def test_identical_tables_are_homogeneous():
    # every table has OR 2 (20/40 vs 10/30 -> (20*20)/(20*10)): the MH OR is 2, E = a, BD = 0
    r = mh_or_tests([20, 20, 40], [40, 40, 80], [10, 10, 20], [30, 30, 60])
    assert abs(float(r.breslow_day.statistic)) < 1e-10
    assert abs(float(r.tarone.statistic)) < 1e-10
    assert float(r.breslow_day.df) == 2


def test_undefined_cases_give_nan():
    # no events anywhere: no CMH, no MH OR, no Breslow-Day
    r = mh_or_tests([0, 0], [10, 12], [0, 0], [11, 9])
    assert np.isnan(r.cmh.statistic) and np.isnan(r.cmh.pval)
    assert np.isnan(r.breslow_day.statistic) and int(r.k_pos) == 0
    # a single informative table: Breslow-Day has no degrees of freedom
    r1 = mh_or_tests([3, 0], [10, 12], [5, 0], [11, 9])
    assert int(r1.k_pos) == 1 and np.isnan(r1.breslow_day.pval) and np.isnan(r1.tarone.pval)
    # masked tables and NaN counts are left out like absent ones
    a, n1, c, n2 = counts("bcg")
    full = mh_or_tests(a[:10], n1[:10], c[:10], n2[:10])
    masked = mh_or_tests(a, n1, c, n2, mask=np.arange(13) < 10)
    assert close(masked.breslow_day.statistic, full.breslow_day.statistic, rtol=1e-12)
    a_nan = a.copy()
    a_nan[10:] = np.nan
    assert close(mh_or_tests(a_nan, n1, c, n2).cmh.statistic, full.cmh.statistic, rtol=1e-12)
    with pytest.raises(ValueError, match="variance"):
        cmh_test(a, n1, c, n2, variance="exact")


def test_result_views():
    r = mh_or_tests(*counts("double_zero"))
    d = r.to_dict()
    assert d["breslow_day"]["df"] == 2.0 and d["k_pos"] == 3
    assert d["cmh"]["distribution"] == "chi2"
    frame = r.to_frame()
    assert list(frame["test"]) == ["Cochran-Mantel-Haenszel", "Breslow-Day", "Tarone"]
    assert "Breslow-Day: chi² = 1.2074, df = 2" in r.summary()
    nan = mh_or_tests([0, 0], [10, 12], [0, 0], [11, 9])
    assert nan.to_dict()["cmh"]["statistic"] is None
    assert "not estimable" in nan.summary()


def _breslow_day_decimal(a, n1, c, n2):
    """Breslow-Day and Tarone in 60-digit decimal arithmetic, with the textbook root."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    a, n1, c, n2 = ([Decimal(int(x)) for x in v] for v in (a, n1, c, n2))
    N = [p + q for p, q in zip(n1, n2)]
    R = sum(ai * (m2 - ci) / n for ai, ci, m2, n in zip(a, c, n2, N))
    S = sum((m1 - ai) * ci / n for ai, ci, m1, n in zip(a, c, n1, N))
    psi = R / S
    bd = dev_sum = var_sum = Decimal(0)
    for ai, ci, m1, m2, n in zip(a, c, n1, n2, N):
        xt = ai + ci
        A = psi * (m1 + xt) + (m2 - xt)
        e = (A - (A * A - 4 * (psi - 1) * psi * m1 * xt).sqrt()) / (2 * (psi - 1))
        v = 1 / (1 / e + 1 / (m1 - e) + 1 / (xt - e) + 1 / (n - m1 - xt + e))
        bd += (ai - e) ** 2 / v
        dev_sum += ai - e
        var_sum += v
    return psi, float(bd), float(bd - dev_sum**2 / var_sum)


def test_breslow_day_is_accurate_when_the_mh_or_is_almost_1():
    # two large tables with R - S = +1/200001 and -1/200201, and three that balance exactly:
    # the MH OR is 1 + 1e-11, where (A - B)/(2(psi - 1)) (metafor) cancels 11 digits
    a, n1 = [1, 1, 1000, 10, 20], [100000, 100101, 2000, 100, 100]
    c, n2 = [1, 1, 1000, 20, 10], [100001, 100100, 2000, 100, 100]
    psi, bd, ta = _breslow_day_decimal(a, n1, c, n2)
    assert 1e-12 < float(psi - 1) < 1e-10
    r = mh_or_tests(a, n1, c, n2)
    assert close(r.breslow_day.statistic, bd, rtol=1e-12, atol=0)
    assert close(r.tarone.statistic, ta, rtol=1e-12, atol=0)
