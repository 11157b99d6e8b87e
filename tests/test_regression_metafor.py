"""Every meta-regression of tests/reference/metafor_metareg.json against metafor 3.8.1.

Six data sets (dat.bcg with ablat, ablat + year and factor(alloc); dat.hackshaw1998 by
design and by country; dat.bangertdrowns2004 with two continuous moderators and a
factor; dat.raudenbush1985, where tau² is 0 for several estimators; dat.molloy2014),
every tau² estimator (FE, REML, ML, DL, PM, SJ, HE, EB, HS) with Wald z and Knapp-Hartung
tests, the omnibus test of a subset of coefficients, predictions with CIs and PIs, and
exact permutation p-values for k <= 8. Each case is refitted from metafor's own design
matrix, so the comparison is of the model, not of formula parsing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import DataError
from reference_data import close, load

REF = load("metafor_metareg")
METHOD = {"FE": ("common", "REML")}


def _plain(case):
    r = case["results"]
    return "error" not in r and "beta" in r and not case["name"].startswith(("adversarial collinear",
                                                                             "permutest"))


def _fit(case):
    d, s, r = case["data"], case["settings"], case["results"]
    keep = np.array(r.get("not_na", [True] * len(d["yi"])), dtype=bool)
    y, v = np.array(d["yi"], float)[keep], np.array(d["vi"], float)[keep]
    X = np.array(r["X"], float)
    model, tau2 = METHOD.get(s["method"], ("random", s["method"]))
    return mk.metareg(yi=y, vi=v, X=X, names=tuple(r["coef_names"]), model=model,
                      tau2_method=tau2, ci="hk" if s["test"] == "knha" else "z",
                      level=s.get("level", 95) / 100, tol=1e-13)


def _rtol(case):
    # iterative estimators were run with metafor's threshold 1e-12 unless noted
    return 1e-6 if case["settings"].get("control") != "metafor defaults" or \
        case["settings"]["method"] in ("FE", "DL", "HE", "HS", "SJ") else 2e-4


CASES = [c for c in REF["cases"] if _plain(c)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_meta_regression_equals_metafor(case):
    r = case["results"]
    fit = _fit(case)
    rtol = _rtol(case)
    atol = 1e-8
    stat = r.get("zval", r.get("tval"))
    for ours, ref in ((fit.beta, r["beta"]), (fit.se, r["se"]), (fit.stat, stat),
                      (fit.ci_lb, r["ci_lb"]), (fit.ci_ub, r["ci_ub"])):
        assert close(ours, ref, rtol=rtol, atol=atol)
    assert close(fit.pval, r["pval"], rtol=max(rtol, 1e-6), atol=1e-10)
    assert close(fit.vb, r["vb"], rtol=rtol, atol=1e-10)
    assert close(fit.tau2, r["tau2"], rtol=rtol, atol=1e-9)
    if r["se_tau2"] is not None:
        assert close(fit.se_tau2, r["se_tau2"], rtol=rtol, atol=1e-9)
    assert close(fit.QE.statistic, r["QE"], rtol=1e-9) and close(fit.QE.pval, r["QEp"], atol=1e-10)
    assert fit.QE.df == r["QEdf"]
    assert close(fit.QM.statistic, r["QM"], rtol=rtol, atol=1e-9)
    assert close(fit.QM.pval, r["QMp"], rtol=max(rtol, 1e-6), atol=1e-10)
    if case["settings"]["method"] != "FE":
        assert close(fit.I2, r["I2"], rtol=rtol, atol=1e-7) and close(fit.H2, r["H2"], rtol=rtol, atol=1e-7)
    if r.get("R2") is not None:
        assert close(fit.R2, r["R2"], rtol=rtol, atol=1e-6)
    if r.get("btt_test"):
        t = fit.test([i - 1 for i in r["btt_test"]["btt"]])
        assert close(t.statistic, r["btt_test"]["QM"], rtol=rtol, atol=1e-9)
        assert close(t.pval, r["btt_test"]["QMp"], rtol=max(rtol, 1e-6), atol=1e-10)
    if r.get("predict"):
        p = r["predict"]
        pred = fit.predict(np.array(p["newmods"], float))
        for key in ("pred", "se", "ci_lb", "ci_ub"):
            assert close(pred[key].to_numpy(), p[key], rtol=rtol, atol=1e-8), key
        if case["settings"]["method"] != "FE":
            assert close(pred["pi_lb"].to_numpy(), p["pi_lb"], rtol=rtol, atol=1e-8)
            assert close(pred["pi_ub"].to_numpy(), p["pi_ub"], rtol=rtol, atol=1e-8)


PERM = [c for c in REF["cases"] if c["name"].startswith("permutest") and "beta" in c["results"]]


@pytest.mark.parametrize("case", PERM, ids=[c["name"] for c in PERM])
def test_exact_permutation_p_values_equal_metafor(case):
    r = case["results"]
    fit = _fit(case)
    perm = fit.permutation_test(exact=True)
    ref = r["permutest"]
    assert perm.exact
    assert close(perm.pval, ref["pval"], atol=1e-12)
    if ref.get("QMp") is not None and fit.fit.btt:
        assert close(perm.QM.pval, ref["QMp"], atol=1e-12)


COLLINEAR = [c for c in REF["cases"] if c["name"].startswith("adversarial collinear")]


@pytest.mark.parametrize("case", COLLINEAR, ids=[c["name"] for c in COLLINEAR])
def test_collinear_designs_are_refused_with_the_moderators_named(case):
    """metafor drops redundant predictors with a warning; metakit refuses and names them."""
    d = case["data"]
    frame = pd.DataFrame(d["mods"])
    formula = case["settings"]["formula"].replace("factor(", "C(")
    assert "Redundant predictors dropped from the model." in case["results"]["warnings"]
    with pytest.raises(DataError, match="ablat2"):
        mk.metareg(yi=d["yi"], vi=d["vi"], data=frame, mods=formula)
