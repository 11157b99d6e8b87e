"""Tests of metakit.stats.conversions: hand calculations written out step by step, the published
table of Wan et al. (2014, Table 1) and the Cochrane Handbook's worked numbers.

Phi^{-1} in the hand calculations comes from Python's statistics.NormalDist (an
implementation independent of scipy, which the code uses); the values are also written
out as a normal table gives them.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from metakit.errors import DataError
from metakit.stats.conversions import (
    combine_groups,
    combine_many,
    expected_range,
    luo_mean_from_iqr,
    luo_mean_from_range,
    luo_mean_from_range_iqr,
    mean_sd_from_median,
    sd_from_ci,
    sd_from_se,
    wan_mean_from_iqr,
    wan_mean_from_range,
    wan_mean_from_range_iqr,
    wan_sd_from_iqr,
    wan_sd_from_range,
    wan_sd_from_range_iqr,
)

PHI_INV = NormalDist().inv_cdf


def close(actual, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol)


# A study reporting median 25 with range 10-50 and IQR 20-40, n = 30.
A, Q1, M, Q3, B, N = 10.0, 20.0, 25.0, 40.0, 50.0, 30

# Step 1 (range): (n - 0.375)/(n + 0.25) = 29.625/30.25 = 0.979339; Phi^-1 = 2.040281
Z_RANGE = PHI_INV(29.625 / 30.25)
# Step 2 (IQR): (0.75 n - 0.125)/(n + 0.25) = 22.375/30.25 = 0.739669; Phi^-1 = 0.642327
Z_IQR = PHI_INV(22.375 / 30.25)


def test_normal_quantiles_used_below():
    assert round(Z_RANGE, 4) == 2.0403
    assert round(Z_IQR, 4) == 0.6423


def test_wan_sd_from_range_s1():
    # SD = (b - a)/(2 Phi^-1(...)) = 40/(2 * 2.040281) = 9.8026
    close(wan_sd_from_range(A, B, N), 40 / (2 * Z_RANGE))
    assert round(float(wan_sd_from_range(A, B, N)), 4) == 9.8026


def test_wan_sd_from_iqr_s3():
    # SD = (q3 - q1)/(2 Phi^-1(...)) = 20/(2 * 0.642327) = 15.5684
    close(wan_sd_from_iqr(Q1, Q3, N), 20 / (2 * Z_IQR))
    assert round(float(wan_sd_from_iqr(Q1, Q3, N)), 4) == 15.5684


def test_wan_sd_from_range_and_iqr_s2():
    # SD = (b - a)/(4 Phi^-1(range)) + (q3 - q1)/(4 Phi^-1(IQR)) = (9.8026 + 15.5684)/2
    close(wan_sd_from_range_iqr(A, Q1, Q3, B, N), 40 / (4 * Z_RANGE) + 20 / (4 * Z_IQR))


@pytest.mark.parametrize(
    ("n", "table"),
    [(2, 1.128), (3, 1.693), (4, 2.059), (5, 2.326), (10, 3.078), (11, 3.173), (20, 3.735),
     (25, 3.931), (30, 4.086), (40, 4.322), (50, 4.498)],
)
def test_exact_expected_range_matches_wan_table_1(n, table):
    # Wan et al. (2014) Table 1 lists xi(n) to three decimals
    assert abs(float(expected_range(n, "exact")) - table) < 5e-4


def test_blom_expected_range_is_wan_formula():
    n = np.array([2, 10, 100, 1000])
    close(expected_range(n), [2 * PHI_INV((k - 0.375) / (k + 0.25)) for k in n])
    # and it approximates the exact value (Table 1: xi(10) = 3.078; formula 3.093)
    assert abs(float(expected_range(10)) - 3.078) < 0.02


def test_wan_means():
    # S1 (Hozo): (a + 2m + b)/4 = (10 + 50 + 50)/4 = 27.5
    close(wan_mean_from_range(A, M, B), 27.5)
    # S3: (q1 + m + q3)/3 = 85/3
    close(wan_mean_from_iqr(Q1, M, Q3), 85 / 3)
    # S2: (a + 2 q1 + 2 m + 2 q3 + b)/8 = (10 + 40 + 50 + 80 + 50)/8 = 230/8
    close(wan_mean_from_range_iqr(A, Q1, M, Q3, B), 28.75)


def test_luo_mean_from_range_s1():
    # w = 4/(4 + n^0.75); 30^0.75 = 12.818610 -> w = 4/16.818610 = 0.237832
    # mean = w (a + b)/2 + (1 - w) m = 0.237832 * 30 + 0.762168 * 25 = 26.18916
    w = 4 / (4 + 30**0.75)
    assert round(w, 6) == 0.237832
    close(luo_mean_from_range(A, M, B, N), w * 30 + (1 - w) * 25)
    assert round(float(luo_mean_from_range(A, M, B, N)), 4) == 26.1892


def test_luo_mean_from_iqr_s3():
    # w = 0.7 + 0.39/n = 0.7 + 0.013 = 0.713
    # mean = 0.713 * (q1 + q3)/2 + 0.287 * m = 0.713 * 30 + 0.287 * 25 = 21.39 + 7.175 = 28.565
    close(luo_mean_from_iqr(Q1, M, Q3, N), 28.565)


def test_luo_mean_from_five_numbers_s2():
    # w1 = 2.2/(2.2 + n^0.75) = 2.2/15.018610 = 0.146485
    # w2 = 0.7 - 0.72/n^0.55; 30^0.55 = 6.492571 -> w2 = 0.7 - 0.110896 = 0.589104
    # mean = w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m = 30 w1 + 30 w2 + 25 (1 - w1 - w2)
    w1 = 2.2 / (2.2 + 30**0.75)
    w2 = 0.7 - 0.72 / 30**0.55
    assert round(w1, 6) == 0.146485 and round(w2, 6) == 0.589104
    close(luo_mean_from_range_iqr(A, Q1, M, Q3, B, N), 30 * w1 + 30 * w2 + 25 * (1 - w1 - w2))


def test_mean_sd_from_median_picks_scenario_per_element():
    nan = np.nan
    est = mean_sd_from_median(
        [M, M, M],
        q1=[nan, Q1, Q1], q3=[nan, Q3, Q3],
        minimum=[A, A, nan], maximum=[B, B, nan],
        n=N,
    )
    assert est.scenario.tolist() == ["S1", "S2", "S3"]
    close(est.mean, [luo_mean_from_range(A, M, B, N), luo_mean_from_range_iqr(A, Q1, M, Q3, B, N),
                     28.565])
    close(est.sd, [40 / (2 * Z_RANGE), 40 / (4 * Z_RANGE) + 20 / (4 * Z_IQR), 20 / (2 * Z_IQR)])
    wan = mean_sd_from_median(M, q1=Q1, q3=Q3, n=N, method="wan")
    close(wan.mean, 85 / 3)
    assert str(wan.scenario) == "S3"


def test_mean_sd_from_median_bad_input():
    with pytest.raises(DataError, match="q1 and q3 must be given together"):
        mean_sd_from_median(M, q1=Q1, n=N)
    with pytest.raises(DataError, match="needs the range"):
        mean_sd_from_median(M, n=N)
    with pytest.raises(DataError, match="median must not exceed q3"):
        mean_sd_from_median(45.0, q1=Q1, q3=Q3, n=N)
    with pytest.raises(DataError, match="minimum must not exceed"):
        mean_sd_from_median(M, minimum=60.0, maximum=B, n=N)
    with pytest.raises(DataError, match="sample size") as info:
        mean_sd_from_median(M, q1=Q1, q3=Q3, n=1)
    assert info.value.column == "n"


def test_sd_from_se():
    # Cochrane Handbook 6.5.2.2: SD = SE * sqrt(N); SE 2 with N 25 -> SD 10
    close(sd_from_se([2.0, 0.5], [25, 100]), [10.0, 5.0])
    with pytest.raises(DataError):
        sd_from_se(-1.0, 10)


def test_sd_from_ci_t_and_z():
    # Handbook 6.5.2.2 (5.1: 7.7.3.2): with N = 25, 3.92 is replaced by 2 x t(0.975, 24) = 2 x 2.0639 = 4.128
    # (t table: t(0.975, 24) = 2.064). CI 10 to 14: SD = sqrt(25) * 4 / 4.128 = 4.845
    sd_t = float(sd_from_ci(10.0, 14.0, 25))
    divisor = 5 * 4 / sd_t
    assert round(divisor / 2, 4) == 2.0639 and round(divisor, 3) == 4.128
    # large-sample z version: SD = sqrt(N) (ub - lb)/3.92 (3.92 = 2 x 1.959964)
    close(sd_from_ci(10.0, 14.0, 25, dist="z"), 5 * 4 / (2 * 1.959963984540054))
    # 90% CI uses 3.29 = 2 x 1.644854 (Handbook)
    close(sd_from_ci(10.0, 14.0, 100, level=0.90, dist="z"), 10 * 4 / (2 * 1.6448536269514722))
    # "auto": t below 60, z from 60 on
    auto = sd_from_ci([10.0, 10.0], [14.0, 14.0], [25, 100], dist="auto")
    close(auto, [sd_t, 10 * 4 / (2 * 1.959963984540054)])


def test_combine_groups_equals_pooled_raw_sample():
    g1 = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    g2 = np.array([10.0, 7.0, 9.0, 12.0])
    n, mean, sd = combine_groups(5, g1.mean(), g1.std(ddof=1), 4, g2.mean(), g2.std(ddof=1))
    both = np.concatenate([g1, g2])
    close([n, mean, sd], [9, both.mean(), both.std(ddof=1)])


def test_combine_groups_hand_calculation():
    # Table 6.5.a: N1 = 10, M1 = 5, SD1 = 2; N2 = 20, M2 = 8, SD2 = 3
    # N = 30; M = (50 + 160)/30 = 7
    # SD^2 = (9*4 + 19*9 + 10*20/30 * (25 + 64 - 80))/29 = (36 + 171 + 60)/29 = 267/29
    n, mean, sd = combine_groups(10, 5.0, 2.0, 20, 8.0, 3.0)
    close([n, mean, sd], [30, 7, math.sqrt(267 / 29)])


def test_combine_many_equals_repeated_pairs_and_raw():
    rng = np.random.default_rng(7)
    groups = [rng.normal(size=k) for k in (4, 7, 5)]
    ns = [len(g) for g in groups]
    means = [g.mean() for g in groups]
    sds = [g.std(ddof=1) for g in groups]
    n, mean, sd = combine_many(ns, means, sds)
    both = np.concatenate(groups)
    close([n, mean, sd], [16, both.mean(), both.std(ddof=1)])
    step = combine_groups(*combine_groups(ns[0], means[0], sds[0], ns[1], means[1], sds[1]), ns[2], means[2], sds[2])
    close(step, [n, mean, sd])
    # batched over studies: (2 studies, 2 subgroups)
    n2, m2, s2 = combine_many([[10, 20], [5, 5]], [[5.0, 8.0], [1.0, 1.0]], [[2.0, 3.0], [1.0, 1.0]])
    close(n2, [30, 10])
    close(m2, [7, 1])
    # second study: two identical groups (n 5, mean 1, SD 1): SD^2 = (4 + 4 + 0)/9 = 8/9
    close(s2, [math.sqrt(267 / 29), math.sqrt(8 / 9)])
