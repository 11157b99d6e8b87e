"""REML and ML return the global maximiser of the likelihood on tau² >= 0.

Two clusters: two precise studies that agree near 0 and four imprecise ones far away.
The score at tau² = 0 is negative (0 is a local maximum) but the likelihood is higher
inside. metafor 3.8 (rma, method REML/ML; values quoted in the issue that reported the
defect): REML tau² = 2.926857, estimate -1.762898, restricted log-likelihood -10.464 at
the optimum and -14.479 at tau² = 0; ML tau² = 2.269990.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import metakit as mk
from metakit.errors import MetakitWarning
from metakit.stats.moments import make_batch
from metakit.stats.tau2 import log_likelihood
from reference_data import load

Y = np.array([0.0, 0.02, -3.0, -4.5, -2.0, -3.5])
V = np.array([0.01, 0.01, 2.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("method, tau2", [("REML", 2.926857), ("ML", 2.269990)])
def test_interior_global_maximum_is_found(method, tau2):
    assert abs(float(mk.estimate_tau2(Y, V, method=method).tau2) - tau2) < 5e-7
    fit = mk.batch.meta(Y, V, tau2_method=method)
    assert abs(float(fit.tau2) - tau2) < 5e-7
    if method == "REML":
        assert abs(float(fit.estimate) - (-1.762898)) < 5e-7


def test_score_at_zero_is_negative_so_zero_is_a_local_maximum():
    """The rule this data set breaks: a non-positive score at 0 does not make 0 global."""
    b = make_batch(Y[None], V[None])
    from metakit.stats.moments import stats
    st = stats(b, np.zeros(1))
    assert float(st.yPPy - st.trP) < 0


def test_restricted_log_likelihood_matches_metafor_up_to_its_constant():
    """metafor's REML log-likelihood adds -(k - p)/2 log(2 pi) + log det(X'X)/2 to ours."""
    b = make_batch(Y[None], V[None])
    const = -(6 - 1) / 2 * np.log(2 * np.pi) + 0.5 * np.log(6.0)
    ll_opt = float(log_likelihood(b, np.array([2.926857]), "REML")[0]) + const
    ll_zero = float(log_likelihood(b, np.zeros(1), "REML")[0]) + const
    assert round(ll_opt, 3) == -10.464 and round(ll_zero, 3) == -14.479


def test_batch_rows_and_ragged_masks_get_the_same_answer():
    y = np.vstack([Y, np.r_[Y[:5], 0.0], Y[::-1]])
    v = np.vstack([V, np.r_[V[:5], 1.0], V[::-1]])
    mask = np.ones(y.shape, dtype=bool)
    mask[1, 5] = False
    fit = mk.batch.meta(y, v, mask, tau2_method="REML")
    single = [float(mk.batch.meta(y[i][mask[i]], v[i][mask[i]], tau2_method="REML").tau2) for i in range(3)]
    assert np.allclose(fit.tau2, single, rtol=1e-9)
    assert abs(fit.tau2[0] - 2.926857) < 5e-7 and abs(fit.tau2[2] - 2.926857) < 5e-7


def test_no_heterogeneity_keeps_zero():
    """Q below its df: the boundary stays the estimate (nothing to scan for)."""
    y = np.array([0.1, 0.12, 0.09, 0.11])
    v = np.array([0.01, 0.02, 0.015, 0.01])
    assert float(mk.estimate_tau2(y, v, method="REML").tau2) == 0.0


DEFECTS = load("metafor_defects")
LIKELIHOOD_CASES = [c for c in DEFECTS["cases"] if c["settings"].get("formula") == "~ 1"
                    and "REML" in c["results"] and "check" in c["results"]["REML"]]


@pytest.mark.parametrize("case", LIKELIHOOD_CASES, ids=[c["name"] for c in LIKELIHOOD_CASES])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_constructed_likelihoods_give_the_global_maximiser(case, method):
    """tests/reference/metafor_defects.json: constructed data whose likelihood has a
    boundary maximum at 0 and an interior one; the global maximiser was found there on a
    0.001 grid and refined (check.global_maximiser), independently of metafor's answer."""
    y, v = np.array(case["data"]["yi"]), np.array(case["data"]["vi"])
    ref = case["results"][method]
    best = ref["check"]["global_maximiser"]["tau2"]
    fit = mk.batch.meta(y, v, tau2_method=method, tol=1e-13)
    assert abs(float(fit.tau2) - best) < 1e-6 * max(1.0, best)
    if ref["check"]["metafor_is_global"]:
        assert abs(float(fit.estimate) - ref["beta"]) < 1e-6
        assert abs(float(fit.se) - ref["se"]) < 1e-6
        assert abs(float(fit.se_tau2) - ref["se_tau2"]) < 1e-6 * max(1.0, ref["se_tau2"])


MH_CASES = [c for c in DEFECTS["cases"] if c["settings"].get("fun") in ("rma.mh", "rma.peto")]


@pytest.mark.parametrize("case", MH_CASES, ids=[c["name"] for c in MH_CASES])
def test_mh_and_peto_fits_equal_rma_mh_and_rma_peto(case):
    d, st, ref = case["data"], case["settings"], case["results"]
    frame = pd.DataFrame({"study": d["study"], "e_t": d["ai"], "n_t": d["n1i"], "e_c": d["ci"],
                          "n_c": d["n2i"]})
    peto = st["fun"] == "rma.peto"
    measure = "OR" if peto else st["measure"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetakitWarning)
        # metafor's default (drop00 = TRUE) is metakit's default; FALSE is asked for
        es = mk.effect_sizes(frame, measure, drop00=None if st["drop00"] else False)
    fit = mk.meta(es, method="Peto" if peto else "MH", model="common")
    for ours, key in ((fit.estimate, "beta"), (fit.se, "se"), (fit.ci_lb, "ci_lb"),
                      (fit.ci_ub, "ci_ub"), (fit.pval, "pval")):
        assert abs(ours - ref[key]) <= 1e-8 * max(1.0, abs(ref[key])), key
    h = fit.heterogeneity
    # metakit leaves double-zero OR/RR tables out of the effect sizes by default, metafor
    # counts them in k (they add nothing to the pooled estimate)
    assert fit.k in (ref["k"], ref["k_yi"])
    assert abs(h.Q - ref["QE"]) < 1e-8 * max(1.0, ref["QE"])
    if peto and not st["drop00"]:
        # a documented difference: metafor's rma.peto counts the kept double-zero table in
        # the df of Q (k.yi - 1 = 3) though it adds nothing to Q; metakit counts the tables
        # with V > 0 (2), as for the default
        assert h.df == ref["QEdf"] - 1
        return
    assert h.df == ref["QEdf"] and abs(h.pval - ref["QEp"]) < 1e-10
    assert abs(h.I2 - ref["I2"]) < 1e-8 and abs(h.H2 - ref["H2"]) < 1e-8
    if measure == "OR" and not peto:
        t = fit.mh_tests()
        if "MH" in ref and ref["MH"] is not None and st["correct"]:
            assert abs(t.cmh.statistic - ref["MH"]) < 1e-7 * max(1.0, ref["MH"])
