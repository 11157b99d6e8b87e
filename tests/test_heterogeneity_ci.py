"""Test-based (Higgins & Thompson 2002) confidence intervals of H, H² and I², as R's meta.

References:
- tests/reference/meta_hetci.json: meta 8.3-0's own calcH()/isquared(), sourced from its source
  tree by meta_hetci.R, on a grid of Q, df and level covering both branches of SE(ln H);
- tests/reference/meta/meta_pkg_crosscheck.json: lower.I2/upper.I2 of complete metabin,
  metagen and metacont fits (meta 8.3-0, copied from the project's shared reference folder).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metakit.stats.heterogeneity import higgins_thompson_ci
from reference_data import close, load

ROWS = load("meta_hetci")["rows"]


def value(row, key, scale=1.0):
    v = row[key]
    return math.nan if v is None else scale * v


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"Q{r['Q']:g}-df{r['df']:g}-{r['level']}")
def test_equals_meta_calcH_isquared(row):
    ci = higgins_thompson_ci(row["Q"], row["df"], row["level"])
    assert close(ci.H, [value(row, "H"), value(row, "lower_H"), value(row, "upper_H")],
                 rtol=1e-9, atol=1e-12)
    assert close(ci.I2, [value(row, "I2", 100), value(row, "lower_I2", 100),
                         value(row, "upper_I2", 100)], rtol=1e-9, atol=1e-10)
    assert close(ci.H2, [value(row, "H") ** 2, value(row, "lower_H") ** 2,
                         value(row, "upper_H") ** 2], rtol=1e-9, atol=1e-12)


def test_grid_covers_both_branches_and_the_undefined_cases():
    k_above = [r for r in ROWS if r["df"] >= 1 and r["Q"] > r["df"] + 1]
    k_below = [r for r in ROWS if r["df"] >= 2 and r["Q"] <= r["df"] + 1]
    no_bounds = [r for r in ROWS if r["df"] == 1 and r["Q"] <= 2]
    no_df = [r for r in ROWS if r["df"] == 0]
    assert len(k_above) >= 12 and len(k_below) >= 12 and len(no_bounds) >= 6 and len(no_df) >= 4
    assert all(r["lower_H"] is None for r in no_bounds)
    assert all(r["H"] is None for r in no_df)


def test_batched_equals_meta():
    for level in (0.9, 0.95, 0.99):
        rows = [r for r in ROWS if r["level"] == level]
        Q = np.array([r["Q"] for r in rows]).reshape(-1, 1)
        df = np.array([r["df"] for r in rows]).reshape(-1, 1)
        ci = higgins_thompson_ci(Q, df, level)
        assert ci.H[1].shape == (len(rows), 1)
        assert close(ci.I2[1].ravel(), [value(r, "lower_I2", 100) for r in rows], rtol=1e-9, atol=1e-10)
        assert close(ci.I2[2].ravel(), [value(r, "upper_I2", 100) for r in rows], rtol=1e-9, atol=1e-10)
    # broadcasting one df against many Q
    ci = higgins_thompson_ci([40.0, 8.0], 12)
    assert ci.H[0].shape == (2,)


def test_equals_meta_fits():
    results = load("meta/meta_pkg_crosscheck")["results"]
    fits = [v for v in results.values() if isinstance(v, dict) and "lower.I2" in v]
    assert len(fits) >= 19
    for fit in fits:
        ci = higgins_thompson_ci(fit["Q"], fit["df.Q"])
        assert close(ci.I2, [100 * fit["I2"], 100 * fit["lower.I2"], 100 * fit["upper.I2"]],
                     rtol=1e-9, atol=1e-10)
        assert close(ci.H[0], fit["H"], rtol=1e-9)


def test_hand_calculation_written_out():
    # Q = 40 on 11 df (k = 12 studies): Q > k, so SE(ln H) from Higgins & Thompson's eq. for Q > k
    Q, df = 40.0, 11.0
    k = df + 1
    H = math.sqrt(Q / df)                                                 # 1.90693
    se = 0.5 * (math.log(Q) - math.log(k - 1)) / (math.sqrt(2 * Q) - math.sqrt(2 * k - 3))
    z = 1.959963984540054
    lo, hi = H * math.exp(-z * se), H * math.exp(z * se)
    ci = higgins_thompson_ci(Q, df)
    assert close(ci.se_log_h, se, rtol=1e-12)
    assert close(ci.H, [H, lo, hi], rtol=1e-12)
    assert close(ci.I2, [100 * (1 - 1 / H**2), 100 * (1 - 1 / lo**2), 100 * (1 - 1 / hi**2)], rtol=1e-12)
    # Q = 9 on 11 df: Q <= k, so SE(ln H) = sqrt(1/(2(k-2)) (1 - 1/(3(k-2)²))); H truncated at 1
    se2 = math.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    ci2 = higgins_thompson_ci(9.0, df)
    assert close(ci2.se_log_h, se2, rtol=1e-12)
    assert close(ci2.H, [1.0, 1.0, math.exp(z * se2)], rtol=1e-12)
    assert ci2.I2[0] == 0.0 and ci2.I2[1] == 0.0


def test_invalid_level_and_views():
    with pytest.raises(ValueError, match="level"):
        higgins_thompson_ci(10.0, 5, level=95)
    d = higgins_thompson_ci(2.0, 1).to_dict()
    assert d["H"][1] is None and d["level"] == 0.95
    # meta 8.3 prints dat.bcg log RR as "I^2 = 92.1% [88.3%; 94.7%]" and "H = 3.56 [2.93; 4.34]"
    ci = higgins_thompson_ci(152.2330080823734, 12)
    assert ci.summary() == "I² = 92.1% [88.3%; 94.7%]; H = 3.56 [2.93; 4.34]"
    frame = higgins_thompson_ci([152.2330080823734, 8.0], 12).to_frame()
    assert list(frame["quantity"]) == ["H", "H", "H2", "H2", "I2", "I2"]
    assert frame["ci_lb"].iloc[5] == 0.0
