"""Egger's regression test on a meta-regression, against metafor 3.8.1's regtest() on
rma(yi, vi, mods = ~ ablat) (dat.bcg log RR): the predictor joins the moderators and its
coefficient is tested (tests/reference/metafor_regtest_metareg.R and .json)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import metakit as mk
from metakit.errors import MetakitWarning
from reference_data import close, load

REF = load("metafor_regtest_metareg")
D = REF["data"]


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_regtest_on_a_meta_regression_equals_metafor(case):
    st, r = case["settings"], case["results"]
    method = st["method"]
    fit = mk.metareg(yi=D["yi"], vi=D["vi"], X=np.column_stack([np.ones(13), D["ablat"]]),
                     names=("intrcpt", "ablat"), model="common" if method == "FE" else "random",
                     tau2_method="REML" if method == "FE" else method,
                     ci="hk" if st["test"] == "knha" else "z", tol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)
        t = fit.regtest(model=st["model"], predictor=st["predictor"], ni=np.array(D["ni"]))
    assert t.names == ("intrcpt", "ablat", st["predictor"])
    assert close(t.beta, r["beta"], rtol=1e-6) and close(t.se, r["se"], rtol=1e-6)
    assert close(t.test.statistic, r["zval"], rtol=1e-6) and close(t.test.pval, r["pval"], rtol=1e-6)
    if r["dfs"] is not None:
        assert t.test.df == r["dfs"]
