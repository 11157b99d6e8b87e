"""GOSH of a meta-regression against metafor 3.8.1's gosh() on rma(yi, vi, mods = ~ ablat)
(the first nine dat.bcg trials; FE, DL, REML; tests/reference/metafor_gosh_metareg.R):
the same subsets in the same order, the same NA rows, and every number per subset."""

from __future__ import annotations

import numpy as np
import pytest

import metakit as mk
from reference_data import arr, close, load

REF = load("metafor_gosh_metareg")
D = REF["data"]


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_gosh_of_a_meta_regression_equals_metafor(case):
    m, r = case["method"], case["results"]
    fit = mk.metareg(yi=D["yi"], vi=D["vi"], X=np.column_stack([np.ones(9), D["ablat"]]),
                     names=("intrcpt", "ablat"), model="common" if m == "FE" else "random",
                     tau2_method="REML" if m == "FE" else m, tol=1e-13)
    g = fit.gosh()
    assert g.n == len(r["k"]) and g.names == ("intrcpt", "ablat")
    assert np.array_equal(g.incl.astype(int), np.array(r["incl"]))
    assert np.array_equal(g.k, arr(r["k"]))
    for ours, key in ((g.beta[:, 0], "intrcpt"), (g.beta[:, 1], "ablat"), (g.QE, "QE"),
                      (g.I2, "I2"), (g.H2, "H2"), (g.tau2, "tau2")):
        ref = arr(r[key])
        assert np.array_equal(np.isnan(ours), np.isnan(ref)), key
        assert close(ours, ref, rtol=1e-6, atol=1e-8), key
