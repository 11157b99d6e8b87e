"""GOSH against metafor 3.8.1's gosh() (all 2^k - 1 subsets of five data sets: dat.bcg
trials 1-8, dat.normand1999, and the first nine studies of dat.hackshaw1998, dat.pritz1997
and dat.li2007; FE, DL, REML) in tests/reference/metafor_sensitivity.json, subset by subset
(membership matrix included)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.stats.gosh import gosh
from metakit.stats.kernel import Settings
from reference_data import arr, close, load

CASES = [c for c in load("metafor_sensitivity")["cases"] if c["settings"]["kind"] == "gosh"]


def _settings(method):
    return Settings(model="common") if method == "FE" else Settings(tau2_method=method, tol=1e-12,
                                                                    maxiter=1000)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_every_subset_equals_metafor(case):
    d, r = case["data"], case["results"]
    g = gosh(d["yi"], d["vi"], _settings(case["settings"]["method"]), study=d["study"])
    assert g.exhaustive and g.n == r["n_subsets"] == 2 ** r["k"] - 1
    assert (g.incl.astype(int) == np.array(r["incl"])).all()
    assert (g.k == g.incl.sum(axis=1)).all()
    for name in ("estimate", "QE", "I2", "tau2"):
        assert close(getattr(g, name), arr(r[name])), name
    h2 = arr(r["H2"])
    if case["settings"]["method"] == "DL":
        # metafor's gosh() writes H² = QE/(k - 1) for DL even where QE < k - 1 (H² < 1);
        # rma() (and metakit, subset by subset) gives H² = 1 where tau² is truncated at 0
        low = (g.QE < g.k - 1) & (g.k > 1)
        assert low.any()
        assert close(h2[low], g.QE[low] / (g.k[low] - 1))
        assert np.allclose(g.H2[low], 1.0)
        h2, ours = h2[~low], g.H2[~low]
    else:
        ours = g.H2
    assert close(ours, h2)


def test_subset_equals_a_direct_fit():
    """Any one subset equals mk.meta on those studies alone."""
    case = next(c for c in CASES if c["name"] == "gosh normand1999/REML")
    d = case["data"]
    g = gosh(d["yi"], d["vi"], _settings("REML"))
    row = 300
    keep = g.incl[row]
    frame = pd.DataFrame({"study": np.array(d["study"])[keep], "yi": np.array(d["yi"])[keep],
                          "vi": np.array(d["vi"])[keep]})
    res = mk.meta(mk.effect_sizes(frame, "GEN", estimate="yi", variance="vi"), tol=1e-12)
    assert g.estimate[row] == pytest.approx(res.estimate, rel=1e-9)
    assert g.tau2[row] == pytest.approx(res.tau2, rel=1e-7, abs=1e-12)


def test_random_subsets_are_seeded_and_non_empty():
    y = np.linspace(-1, 1, 25)
    v = np.full(25, 0.05)
    a = gosh(y, v, Settings(tau2_method="DL"), subsets=3000, seed=7)
    b = gosh(y, v, Settings(tau2_method="DL"), subsets=3000, seed=7)
    assert not a.exhaustive and a.n == 3000
    assert (a.incl == b.incl).all() and np.array_equal(a.estimate, b.estimate)
    assert a.incl.any(axis=1).all()
    # each study is in about half of the subsets (binomial sd ~ 27)
    assert np.all(np.abs(a.incl.sum(axis=0) - 1500) < 200)


def test_blocks_do_not_change_results():
    y = np.array([0.1, 0.5, -0.2, 0.3, 0.9, 0.0])
    v = np.array([0.02, 0.05, 0.04, 0.01, 0.09, 0.03])
    a = gosh(y, v, Settings(), block=7)
    b = gosh(y, v, Settings())
    assert np.array_equal(a.incl, b.incl) and np.allclose(a.estimate, b.estimate)


def test_gosh_method_on_result_and_frame():
    case = next(c for c in CASES if c["name"] == "gosh bcg trials 1-8/DL")
    d = case["data"]
    frame = pd.DataFrame({"study": d["study"], "yi": d["yi"], "vi": d["vi"]})
    res = mk.meta(mk.effect_sizes(frame, "GEN", estimate="yi", variance="vi"), tau2_method="DL")
    g = res.gosh()
    out = g.to_frame()
    assert list(out.columns[:6]) == ["k", "QE", "I2", "H2", "tau2", "estimate"]
    assert list(out.columns[6:]) == d["study"]
    assert close(out["estimate"], arr(case["results"]["estimate"]))
    assert "255 subsets of 8 studies" in g.summary()


def test_compiled_solver_equals_numpy_kernel():
    """The numba (RE)ML solver gives the numpy kernel's tau² subset by subset."""
    for name in ("gosh normand1999/REML", "gosh bcg trials 1-8/REML"):
        d = next(c for c in CASES if c["name"] == name)["data"]
        for method in ("REML", "ML"):
            s = _settings(method)
            a = gosh(d["yi"], d["vi"], s, compiled=True)
            b = gosh(d["yi"], d["vi"], s, compiled=False)
            assert np.array_equal(a.incl, b.incl)
            for field in ("tau2", "estimate", "I2", "H2", "QE"):
                assert close(getattr(a, field), getattr(b, field), rtol=1e-9, atol=1e-12), field
    rng = np.random.default_rng(11)
    v = rng.uniform(0.01, 0.3, 12)
    y = rng.normal(0.2, np.sqrt(v + 0.05))
    a = gosh(y, v, Settings(), compiled=True)
    b = gosh(y, v, Settings(), compiled=False)
    assert close(a.tau2, b.tau2, rtol=1e-9, atol=1e-12)
