"""Conversions reviewers need to get a mean and SD per arm out of what papers report.

- median with range and/or interquartile range -> mean and SD (Wan et al. 2014; Luo et
  al. 2018), scenario by scenario or chosen from what is given;
- standard error of a mean -> SD; confidence interval of a mean -> SD (Cochrane Handbook
  section 6.5.2.2);
- two (or more) subgroups -> one arm (Cochrane Handbook Table 6.5.a).

Every function is vectorised (NumPy broadcasting over any shape). Scenario names follow
Wan et al. (2014): S1 = {minimum, median, maximum, n}; S2 = {minimum, q1, median, q3,
maximum, n}; S3 = {q1, median, q3, n}.

References
----------
Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation
from the sample size, median, range and/or interquartile range. BMC Med Res Methodol
14:135.
Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample
size, median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27(6):1785-1805.
Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and variance from the median,
range, and the size of a sample. BMC Med Res Methodol 5:13.
Higgins JPT, Li T, Deeks JJ (eds). Cochrane Handbook for Systematic Reviews of
Interventions, version 6, chapter 6 (section 6.5.2).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import special

from metakit.errors import DataError

__all__ = [
    "MeanSD",
    "expected_range",
    "wan_sd_from_range",
    "wan_sd_from_iqr",
    "wan_sd_from_range_iqr",
    "wan_mean_from_range",
    "wan_mean_from_iqr",
    "wan_mean_from_range_iqr",
    "luo_mean_from_range",
    "luo_mean_from_iqr",
    "luo_mean_from_range_iqr",
    "mean_sd_from_median",
    "sd_from_se",
    "sd_from_ci",
    "sd_change",
    "correlation_from_sds",
    "combine_groups",
    "combine_many",
]


class MeanSD(NamedTuple):
    """An estimated mean and SD, and the scenario ("S1", "S2", "S3") used per element."""

    mean: np.ndarray
    sd: np.ndarray
    scenario: np.ndarray


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _check_n(n: np.ndarray, minimum: float = 2) -> None:
    if np.any(~np.isfinite(n) | (n < minimum)):
        raise DataError(f"sample size must be a number >= {minimum:g}", column="n")


def _check_order(*pairs: tuple[str, np.ndarray]) -> None:
    """Raise unless the named quantiles are in non-decreasing order (NaNs are skipped)."""
    for (name_lo, lo), (name_hi, hi) in zip(pairs, pairs[1:], strict=False):
        if np.any(lo > hi):
            raise DataError(f"{name_lo} must not exceed {name_hi}", column=name_lo)


def _phi(z):
    """Standard normal density."""
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def expected_range(n: Any, method: Literal["blom", "exact"] = "blom") -> np.ndarray:
    """xi(n): expected range of n standard normal observations, 2 E[Z_(n)].

    ``"blom"`` is Wan et al.'s (2014) formula (7), using Blom's (1958) approximation
    E[Z_(n)] ~ Phi^{-1}((n - 0.375)/(n + 0.25)), so xi(n) = 2 Phi^{-1}((n - 0.375)/(n + 0.25)).
    ``"exact"`` integrates E[Z_(n)] = int z n phi(z) Phi(z)^(n-1) dz numerically; it is
    what Wan et al. tabulate in their Table 1 (e.g. xi(10) = 3.078 vs 3.093 by Blom).

    Examples
    --------
    >>> round(float(expected_range(10, "exact")), 3)
    3.078
    """
    n = _arr(n)
    if method == "blom":
        return 2 * special.ndtri((n - 0.375) / (n + 0.25))
    if method != "exact":
        raise ValueError("method must be 'blom' or 'exact'")
    from scipy import integrate  # only the exact expected range needs quadrature

    flat = n.ravel()
    out = np.empty_like(flat)
    for i, m in enumerate(flat):  # a handful of distinct n per review; quad per value is cheap
        f = lambda z, m=m: z * m * _phi(z) * special.ndtr(z) ** (m - 1)  # noqa: E731
        out[i] = 2 * integrate.quad(f, -12, 12, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return out.reshape(n.shape)


def _eta(n: np.ndarray) -> np.ndarray:
    # Wan et al. (2014): expected IQR of n standard normals,
    # eta(n) = 2 Phi^{-1}((0.75 n - 0.125)/(n + 0.25)).
    return 2 * special.ndtri((0.75 * n - 0.125) / (n + 0.25))


def wan_sd_from_range(
    minimum: Any, maximum: Any, n: Any, xi: Literal["blom", "exact"] = "blom"
) -> np.ndarray:
    """SD from the range (scenario S1): SD = (b - a) / xi(n) (Wan et al. 2014, formula 7).

    Examples
    --------
    >>> round(float(wan_sd_from_range(10, 50, 30)), 4)
    9.8026
    """
    a, b, n = _arr(minimum), _arr(maximum), _arr(n)
    _check_n(n)
    _check_order(("minimum", a), ("maximum", b))
    return (b - a) / expected_range(n, xi)


def wan_sd_from_iqr(q1: Any, q3: Any, n: Any) -> np.ndarray:
    """SD from the IQR (scenario S3): SD = (q3 - q1) / eta(n), eta(n) = 2 Phi^{-1}((0.75n -
    0.125)/(n + 0.25)) (Wan et al. 2014).

    Examples
    --------
    >>> round(float(wan_sd_from_iqr(20, 40, 30)), 4)
    15.5684
    """
    q1, q3, n = _arr(q1), _arr(q3), _arr(n)
    _check_n(n)
    _check_order(("q1", q1), ("q3", q3))
    return (q3 - q1) / _eta(n)


def wan_sd_from_range_iqr(
    minimum: Any, q1: Any, q3: Any, maximum: Any, n: Any, xi: Literal["blom", "exact"] = "blom"
) -> np.ndarray:
    """SD from range and IQR (scenario S2): the average of the two estimates,
    SD = (b - a)/(2 xi(n)) + (q3 - q1)/(2 eta(n)) (Wan et al. 2014, formula 12).

    Examples
    --------
    >>> round(float(wan_sd_from_range_iqr(10, 20, 40, 50, 30)), 4)
    12.6855
    """
    a, q1, q3, b, n = (_arr(x) for x in (minimum, q1, q3, maximum, n))
    _check_n(n)
    _check_order(("minimum", a), ("q1", q1), ("q3", q3), ("maximum", b))
    return (b - a) / (2 * expected_range(n, xi)) + (q3 - q1) / (2 * _eta(n))


def wan_mean_from_range(minimum: Any, median: Any, maximum: Any) -> np.ndarray:
    """Mean from median and range (S1): (a + 2m + b)/4 (Hozo et al. 2005; Wan et al. 2014).

    Examples
    --------
    >>> float(wan_mean_from_range(10, 25, 50))
    27.5
    """
    a, m, b = _arr(minimum), _arr(median), _arr(maximum)
    _check_order(("minimum", a), ("median", m), ("maximum", b))
    return (a + 2 * m + b) / 4


def wan_mean_from_iqr(q1: Any, median: Any, q3: Any) -> np.ndarray:
    """Mean from median and IQR (S3): (q1 + m + q3)/3 (Wan et al. 2014).

    Examples
    --------
    >>> float(wan_mean_from_iqr(20, 30, 43))
    31.0
    """
    q1, m, q3 = _arr(q1), _arr(median), _arr(q3)
    _check_order(("q1", q1), ("median", m), ("q3", q3))
    return (q1 + m + q3) / 3


def wan_mean_from_range_iqr(minimum: Any, q1: Any, median: Any, q3: Any, maximum: Any) -> np.ndarray:
    """Mean from the five-number summary (S2): (a + 2q1 + 2m + 2q3 + b)/8 (Wan et al. 2014,
    formula 10; Bland 2015).

    Examples
    --------
    >>> float(wan_mean_from_range_iqr(10, 20, 25, 40, 50))
    28.75
    """
    a, q1, m, q3, b = (_arr(x) for x in (minimum, q1, median, q3, maximum))
    _check_order(("minimum", a), ("q1", q1), ("median", m), ("q3", q3), ("maximum", b))
    return (a + 2 * q1 + 2 * m + 2 * q3 + b) / 8


def luo_mean_from_range(minimum: Any, median: Any, maximum: Any, n: Any) -> np.ndarray:
    """Optimal mean from median and range (S1; Luo et al. 2018):
    mean = w (a + b)/2 + (1 - w) m, w = 4/(4 + n^0.75).

    Examples
    --------
    >>> round(float(luo_mean_from_range(10, 25, 50, 30)), 4)
    26.1892
    """
    a, m, b, n = (_arr(x) for x in (minimum, median, maximum, n))
    _check_n(n, 1)
    _check_order(("minimum", a), ("median", m), ("maximum", b))
    w = 4 / (4 + n**0.75)
    return w * (a + b) / 2 + (1 - w) * m


def luo_mean_from_iqr(q1: Any, median: Any, q3: Any, n: Any) -> np.ndarray:
    """Optimal mean from median and IQR (S3; Luo et al. 2018):
    mean = w (q1 + q3)/2 + (1 - w) m, w = 0.7 + 0.39/n.

    Examples
    --------
    >>> round(float(luo_mean_from_iqr(20, 30, 43, 30)), 4)
    31.0695
    """
    q1, m, q3, n = (_arr(x) for x in (q1, median, q3, n))
    _check_n(n, 1)
    _check_order(("q1", q1), ("median", m), ("q3", q3))
    w = 0.7 + 0.39 / n
    return w * (q1 + q3) / 2 + (1 - w) * m


def luo_mean_from_range_iqr(
    minimum: Any, q1: Any, median: Any, q3: Any, maximum: Any, n: Any
) -> np.ndarray:
    """Optimal mean from the five-number summary (S2; Luo et al. 2018, eq. 15):
    mean = w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m,
    w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55.

    Examples
    --------
    >>> round(float(luo_mean_from_range_iqr(10, 20, 25, 40, 50, 30)), 4)
    28.6779
    """
    a, q1, m, q3, b, n = (_arr(x) for x in (minimum, q1, median, q3, maximum, n))
    _check_n(n, 1)
    _check_order(("minimum", a), ("q1", q1), ("median", m), ("q3", q3), ("maximum", b))
    w1 = 2.2 / (2.2 + n**0.75)
    w2 = 0.7 - 0.72 / n**0.55
    return w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m


def mean_sd_from_median(
    median: Any,
    *,
    q1: Any = None,
    q3: Any = None,
    minimum: Any = None,
    maximum: Any = None,
    n: Any,
    method: Literal["luo-wan", "wan"] = "luo-wan",
    xi: Literal["blom", "exact"] = "blom",
) -> MeanSD:
    """Estimate mean and SD from a median with its range and/or IQR, element by element.

    The scenario is chosen per element from what is given (a NaN counts as not given):
    both range and IQR -> S2; IQR only -> S3; range only -> S1. The SD is always Wan et
    al.'s (2014); the mean is Luo et al.'s (2018) optimal estimator (``method="luo-wan"``,
    the default) or Wan et al.'s
    (``method="wan"``).

    Parameters
    ----------
    median
        Sample median(s).
    q1, q3, minimum, maximum
        Quartiles and extremes; pass both of a pair or neither.
    n
        Sample size(s), >= 2.
    method
        "luo-wan" or "wan".
    xi
        Expected-range constant for the range-based SD: Wan's formula ("blom") or the exact
        value ("exact").

    Returns
    -------
    MeanSD
        ``mean``, ``sd`` and ``scenario`` arrays ("S1", "S2" or "S3").

    Examples
    --------
    >>> est = mean_sd_from_median(25, q1=20, q3=40, n=30)
    >>> round(float(est.mean), 4), round(float(est.sd), 4), str(est.scenario)
    (28.565, 15.5684, 'S3')
    """
    if method not in ("luo-wan", "wan"):
        raise ValueError("method must be 'luo-wan' or 'wan'")
    m = _arr(median)
    nan = np.full(m.shape, np.nan)
    a, b, lo, hi = (nan if x is None else _arr(x) for x in (minimum, maximum, q1, q3))
    n = _arr(n)
    m, a, b, lo, hi, n = np.broadcast_arrays(m, a, b, lo, hi, n)
    if np.any(np.isnan(m)):
        raise DataError("missing value", column="median")
    _check_n(n)
    for x_name, y_name, x, y in (("minimum", "maximum", a, b), ("q1", "q3", lo, hi)):
        if np.any(np.isnan(x) != np.isnan(y)):
            raise DataError(f"{x_name} and {y_name} must be given together", column=x_name)
    has_range, has_iqr = ~np.isnan(a), ~np.isnan(lo)
    if np.any(~has_range & ~has_iqr):
        raise DataError("needs the range (minimum, maximum) or the IQR (q1, q3)", column="median")
    _check_order(("minimum", a), ("q1", lo), ("median", m), ("q3", hi), ("maximum", b))
    _check_order(("minimum", a), ("median", m), ("maximum", b))
    _check_order(("q1", lo), ("median", m), ("q3", hi))
    s1, s2, s3 = has_range & ~has_iqr, has_range & has_iqr, has_iqr & ~has_range
    with np.errstate(invalid="ignore"):
        if method == "luo-wan":
            mean_s1 = luo_mean_from_range(a, m, b, n)
            mean_s2 = luo_mean_from_range_iqr(a, lo, m, hi, b, n)
            mean_s3 = luo_mean_from_iqr(lo, m, hi, n)
        else:
            mean_s1 = wan_mean_from_range(a, m, b)
            mean_s2 = wan_mean_from_range_iqr(a, lo, m, hi, b)
            mean_s3 = wan_mean_from_iqr(lo, m, hi)
        sd_s1 = wan_sd_from_range(a, b, n, xi)
        sd_s2 = wan_sd_from_range_iqr(a, lo, hi, b, n, xi)
        sd_s3 = wan_sd_from_iqr(lo, hi, n)
    mean = np.select([s1, s2, s3], [mean_s1, mean_s2, mean_s3])
    sd = np.select([s1, s2, s3], [sd_s1, sd_s2, sd_s3])
    scenario = np.select([s1, s2, s3], ["S1", "S2", "S3"], default="")
    return MeanSD(mean, sd, scenario)


def sd_from_se(se: Any, n: Any) -> np.ndarray:
    """SD of one group from the standard error of its mean: SD = SE sqrt(n)
    (Cochrane Handbook 6.5.2.2).

    Examples
    --------
    >>> float(sd_from_se(2.0, 25))
    10.0
    """
    se, n = _arr(se), _arr(n)
    _check_n(n, 1)
    if np.any(se < 0):
        raise DataError("SE must be >= 0", column="se")
    return se * np.sqrt(n)


def sd_from_ci(
    lower: Any,
    upper: Any,
    n: Any,
    *,
    level: float = 0.95,
    dist: Literal["t", "z", "auto"] = "t",
) -> np.ndarray:
    """SD of one group from a confidence interval of its mean (Cochrane Handbook 6.5.2.2):
    SD = sqrt(n) (upper - lower) / (2 q), with q the t quantile on n - 1 degrees of freedom
    (``dist="t"``, the default, right for small samples), the normal quantile (``"z"``,
    3.92 = 2 x 1.96 for a 95% CI), or t for n < 60 and z otherwise (``"auto"``, the
    Handbook's rule of thumb).

    Examples
    --------
    >>> round(float(sd_from_ci(10.0, 14.0, 25)), 4)  # 5 * 4 / (2 * 2.0639)
    4.8452
    """
    lo, hi, n = _arr(lower), _arr(upper), _arr(n)
    _check_n(n)
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if np.any(lo > hi):
        raise DataError("CI lower limit must not exceed the upper limit", column="lower")
    p = (1 + level) / 2
    if dist == "t":
        q = special.stdtrit(n - 1, p)
    elif dist == "z":
        q = np.full(n.shape, special.ndtri(p))
    elif dist == "auto":
        q = np.where(n < 60, special.stdtrit(n - 1, p), special.ndtri(p))
    else:
        raise ValueError("dist must be 't', 'z' or 'auto'")
    return np.sqrt(n) * (hi - lo) / (2 * q)


def sd_change(sd_baseline: Any, sd_final: Any, corr: Any) -> np.ndarray:
    """SD of the change from baseline, imputed from the baseline and final SDs and a
    correlation between baseline and final values (Cochrane Handbook 6.5.2.8; Follmann et
    al. 1992, J Clin Epidemiol 45:769):

    SD_change = sqrt(SD_baseline^2 + SD_final^2 - 2 Corr SD_baseline SD_final).

    ``corr`` is usually taken from a study that reports all three SDs
    (:func:`correlation_from_sds`) and varied in a sensitivity analysis.

    Examples
    --------
    >>> float(sd_change(10.0, 12.0, 0.6))  # sqrt(100 + 144 - 2 * 0.6 * 120)
    10.0
    """
    sb, sf, r = _arr(sd_baseline), _arr(sd_final), _arr(corr)
    if np.any(sb < 0) or np.any(sf < 0):
        raise DataError("SD must be >= 0", column="sd_baseline" if np.any(sb < 0) else "sd_final")
    if np.any((r < -1) | (r > 1)):
        raise DataError("a correlation must lie in [-1, 1]", column="corr")
    return np.sqrt(np.maximum(sb**2 + sf**2 - 2 * r * sb * sf, 0.0))


def correlation_from_sds(sd_baseline: Any, sd_final: Any, sd_change: Any) -> np.ndarray:
    """Correlation between baseline and final values implied by a study reporting all three
    SDs (Cochrane Handbook 6.5.2.8):

    Corr = (SD_baseline^2 + SD_final^2 - SD_change^2) / (2 SD_baseline SD_final).

    A value outside [-1, 1] means the three SDs are inconsistent and raises DataError.

    Examples
    --------
    >>> round(float(correlation_from_sds(10.0, 12.0, 10.0)), 6)  # 144 / 240
    0.6
    """
    sb, sf, sc = _arr(sd_baseline), _arr(sd_final), _arr(sd_change)
    if np.any(sb <= 0) or np.any(sf <= 0) or np.any(sc < 0):
        raise DataError("baseline and final SDs must be > 0 and the change SD >= 0", column="sd")
    r = (sb**2 + sf**2 - sc**2) / (2 * sb * sf)
    if np.any(np.abs(r) > 1 + 1e-12):
        raise DataError("the three SDs imply a correlation outside [-1, 1]; check them",
                        column="sd_change")
    return np.clip(r, -1.0, 1.0)


def combine_groups(
    n1: Any, mean1: Any, sd1: Any, n2: Any, mean2: Any, sd2: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine two subgroups into one arm (Cochrane Handbook Table 6.5.a):
    N = N1 + N2, M = (N1 M1 + N2 M2)/N,
    SD = sqrt(((N1-1) SD1^2 + (N2-1) SD2^2 + N1 N2/N (M1^2 + M2^2 - 2 M1 M2)) / (N - 1)).

    The result is the exact n, mean and SD of the pooled sample.

    Examples
    --------
    >>> n, m, s = combine_groups(10, 5.0, 2.0, 20, 8.0, 3.0)
    >>> float(n), float(m), round(float(s), 4)
    (30.0, 7.0, 3.0343)
    """
    n1, m1, s1, n2, m2, s2 = (_arr(x) for x in (n1, mean1, sd1, n2, mean2, sd2))
    _check_n(n1, 1)
    _check_n(n2, 1)
    if np.any(s1 < 0) or np.any(s2 < 0):
        raise DataError("SD must be >= 0", column="sd")
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    var = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * n2 / n * (m1**2 + m2**2 - 2 * m1 * m2)) / (n - 1)
    return n, mean, np.sqrt(var)


def combine_many(
    n: Any, mean: Any, sd: Any, axis: int = -1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine any number of subgroups along ``axis`` into one group.

    Applies the Table 6.5.a formula repeatedly; equivalently SD^2 = (sum (n_i - 1) sd_i^2 +
    sum n_i (m_i - M)^2) / (N - 1), the exact pooled-sample variance.

    Examples
    --------
    >>> n, m, s = combine_many([10, 20], [5.0, 8.0], [2.0, 3.0])
    >>> float(n), float(m), round(float(s), 4)
    (30.0, 7.0, 3.0343)
    """
    n, mean, sd = np.broadcast_arrays(_arr(n), _arr(mean), _arr(sd))
    _check_n(n, 1)
    if np.any(sd < 0):
        raise DataError("SD must be >= 0", column="sd")
    total = n.sum(axis=axis)
    grand = (n * mean).sum(axis=axis) / total
    ss = ((n - 1) * sd**2).sum(axis=axis) + (n * (mean - np.expand_dims(grand, axis)) ** 2).sum(axis=axis)
    return total, grand, np.sqrt(ss / (total - 1))
